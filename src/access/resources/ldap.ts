/**
 * LDAP client for authn (ldapts). Filter placeholders are escaped per RFC 4515 and DN placeholders per
 * RFC 4514 before they reach the server, so `*)(uid=*` stays a literal value. Searches share one
 * connection bound as the configured DN; user binds (the bind method) use a connection of their own.
 */
import { Client, type Entry, InvalidCredentialsError } from 'ldapts';
import type { ResourceStatus } from '../authn/types.js';
import { asBackendError, Backoff, parseServer, type SslConfig, tlsOptions, withTimeout } from './common.js';

export interface LdapConfig {
  server: string;
  username: string;
  password: string;
  query_timeout: number;
  ssl: SslConfig;
}

export class LdapClient {
  private readonly url: string;
  private search: Promise<Client> | undefined;
  private readonly backoff = new Backoff('ldap');

  constructor(private readonly cfg: LdapConfig) {
    const tls = tlsOptions(cfg.ssl);
    const { host, port } = parseServer(cfg.server, tls === undefined ? 389 : 636);
    const h = host.includes(':') ? `[${host}]` : host;
    this.url = `${tls === undefined ? 'ldap' : 'ldaps'}://${h}:${port}`;
  }

  private client(): Client {
    return new Client({
      url: this.url,
      timeout: this.cfg.query_timeout,
      connectTimeout: this.cfg.query_timeout,
      tlsOptions: tlsOptions(this.cfg.ssl),
      autoRebind: true,
    });
  }

  /** The shared search connection, bound as the configured DN (anonymous when none). */
  private searcher(): Promise<Client> {
    this.search ??= (async () => {
      const c = this.client();
      if (this.cfg.username !== '') await c.bind(this.cfg.username, this.cfg.password);
      return c;
    })();
    return this.search;
  }

  private reset(): void {
    const s = this.search;
    this.search = undefined;
    s?.then((c) => c.unbind()).catch(() => undefined);
  }

  /**
   * The single entry matching `filter` under `baseDn`, or undefined when none (or, defensively, when more
   * than one matches: a filter meant for one user must not pick an arbitrary one).
   */
  async findOne(baseDn: string, filter: string, attributes: string[]): Promise<Entry | undefined> {
    try {
      return await this.backoff.run(async () => {
        const c = await withTimeout(this.searcher(), this.cfg.query_timeout, 'ldap', 'bind');
        const r = await withTimeout(
          c.search(baseDn, { scope: 'sub', filter, attributes, sizeLimit: 2 }),
          this.cfg.query_timeout,
          'ldap',
          'search',
        );
        return r.searchEntries.length === 1 ? r.searchEntries[0] : undefined;
      });
    } catch (err) {
      this.reset();
      throw asBackendError('ldap', err);
    }
  }

  /** Binds as `dn` with `password` on a fresh connection: true when the server accepts. */
  async verifyBind(dn: string, password: string): Promise<boolean> {
    // An empty password would be an unauthenticated bind, which servers accept for any DN.
    if (password === '') return false;
    const c = this.client();
    try {
      await withTimeout(c.bind(dn, password), this.cfg.query_timeout, 'ldap', 'bind');
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw asBackendError('ldap', err);
    } finally {
      c.unbind().catch(() => undefined);
    }
  }

  async status(): Promise<ResourceStatus> {
    try {
      const c = await withTimeout(this.searcher(), this.cfg.query_timeout, 'ldap', 'bind');
      await withTimeout(
        c.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }),
        this.cfg.query_timeout,
        'ldap',
        'search',
      );
      return 'connected';
    } catch {
      this.reset();
      return 'disconnected';
    }
  }

  close(): void {
    this.reset();
  }
}
