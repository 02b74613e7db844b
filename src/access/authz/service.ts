/**
 * Authorization sources (EMQX `emqx_authz`): an ordered list, at most one per type, run by the
 * client.authorize hook at priority 960. The first source that matches a rule decides; when none does the
 * hook leaves the fold's default (no_match) in place. The client_info source (rules that came with
 * authentication) runs first, inside AccessControl, so clients without such rules keep the fast path.
 */
import { HookPriority, type Hooks } from '../../broker/hooks.js';
import type { AuthzAction, AuthzResult, ClientInfo } from '../../broker/types.js';
import { logger } from '../../log.js';
import type { Db } from '../../store/db.js';
import type { AccessControl } from '../access-control.js';
import type { ResourceStatus } from '../authn/types.js';
import type { AuthzCache } from '../authz-cache.js';
import { Counters } from '../counters.js';
import { checkConfig } from '../schema-parts.js';
import { BuiltInRules } from './built-in-rules.js';
import { clientInfoAnswer } from './client-info.js';
import { AuthzError } from './errors.js';
import type { AuthzAnswer, AuthzEnv, AuthzSource, AuthzSourceProvider } from './types.js';

const METRICS = ['total', 'allow', 'deny', 'nomatch', 'ignore'] as const;
type MetricName = (typeof METRICS)[number];

/** A live connection whose cache the API and CLI may clear. */
export interface CachedClient {
  readonly clientInfo: ClientInfo;
  readonly authzCache?: AuthzCache | undefined;
}

/** A source as the API shows it. */
export interface SourceView {
  type: string;
  enable: boolean;
  /** File form with defaults (secrets not masked). */
  config: Record<string, unknown>;
}

interface Entry {
  type: string;
  enable: boolean;
  config: Record<string, unknown>;
  fingerprint: string;
  source: AuthzSource;
}

export class AuthzService {
  private readonly providers = new Map<string, AuthzSourceProvider>();
  private entries: Entry[] = [];
  private active: Entry[] = [];
  private readonly metrics = new Map<string, Counters<MetricName>>();
  private env: AuthzEnv | undefined;
  private offHook: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private access: AccessControl | undefined;

  constructor(
    private readonly hooks: Hooks,
    /** The connections whose caches clearCache() empties. */
    private readonly clients: () => Iterable<CachedClient>,
  ) {}

  /** Makes a source type available. Returns an unregister function. */
  registerProvider(p: AuthzSourceProvider): () => void {
    if (this.providers.has(p.type))
      throw new Error(`authorization source type ${p.type} is already registered`);
    this.providers.set(p.type, p);
    return () => {
      if (this.providers.get(p.type) === p) this.providers.delete(p.type);
    };
  }

  /** Config keys of a source type that the API masks. */
  providerSecrets(type: string): readonly string[] {
    return this.providers.get(type)?.secrets ?? [];
  }

  /** The rules of the built-in database (available once started). */
  get builtInRules(): BuiltInRules {
    if (this.env === undefined) throw new Error('authorization service is not started');
    return this.env.builtInRules;
  }

  /** Opens the service on the node store and hooks the client_info source into AccessControl. */
  start(db: Db, access: AccessControl): void {
    this.env = { db, builtInRules: new BuiltInRules(db) };
    this.access = access;
    access.clientAcl = (ci, action, topic) => {
      const m = this.countersOf('client_info');
      m.inc('total');
      const p = clientInfoAnswer(ci, action, topic);
      m.inc(p ?? 'nomatch', false);
      return p;
    };
  }

  async stop(): Promise<void> {
    if (this.access !== undefined) this.access.clientAcl = undefined;
    await this.serial(async () => {
      this.offHook?.();
      this.offHook = undefined;
      for (const e of this.entries) await destroy(e);
      this.entries = [];
      this.active = [];
    });
  }

  /** Sources in order. */
  sources(): SourceView[] {
    return this.entries.map(view);
  }

  /** One source by type. */
  source(type: string): SourceView | undefined {
    const e = this.entries.find((x) => x.type === type);
    return e === undefined ? undefined : view(e);
  }

  /** Checks source configs without applying them; throws AuthzError. */
  validate(configs: readonly unknown[]): void {
    this.prepare(configs);
  }

  /**
   * Replaces the sources with these configs (raw, file form), in order. Unchanged sources are kept;
   * every connection's cache is cleared since decisions may change. Rejects (changing nothing) when a
   * config is invalid.
   */
  setSources(configs: readonly unknown[]): Promise<void> {
    return this.serial(async () => {
      const env = this.env;
      if (env === undefined) throw new Error('authorization service is not started');
      const prepared = this.prepare(configs);
      const old = this.entries;
      const next: Entry[] = [];
      const created: Entry[] = [];
      try {
        for (const p of prepared) {
          const same = old.find((e) => e.type === p.type && e.fingerprint === p.fingerprint);
          if (same !== undefined) {
            next.push(same);
            continue;
          }
          const source = await p.provider.create(p.decoded, env);
          const e: Entry = {
            type: p.type,
            enable: p.config.enable !== false,
            config: p.config,
            fingerprint: p.fingerprint,
            source,
          };
          created.push(e);
          next.push(e);
        }
      } catch (err) {
        await Promise.all(created.map(destroy));
        if (err instanceof AuthzError) throw err;
        throw new AuthzError('BAD_REQUEST', (err as Error).message);
      }
      this.entries = next;
      this.active = next.filter((e) => e.enable);
      for (const e of old) if (!next.includes(e)) await destroy(e);
      // Only hook in when some source can answer, so nodes without sources keep the no-hook fast path.
      if (this.active.length > 0)
        this.offHook ??= this.hooks.add('client.authorize', this.onAuthorize, HookPriority.AUTHZ, 'authz');
      else {
        this.offHook?.();
        this.offHook = undefined;
      }
      this.clearCache();
    });
  }

  /** Health and metrics of a source ('client_info' included). */
  async status(
    type: string,
  ): Promise<{ status: ResourceStatus; metrics: Record<string, number> } | undefined> {
    const e = this.entries.find((x) => x.type === type);
    if (e === undefined && type !== 'client_info') return undefined;
    let status: ResourceStatus = 'connected';
    try {
      status = (await e?.source.status?.()) ?? 'connected';
    } catch {
      status = 'disconnected';
    }
    return { status, metrics: this.countersOf(type).snapshot() };
  }

  /** Empties the authorization cache of every connection, or of one client id. Returns how many. */
  clearCache(clientid?: string): number {
    let n = 0;
    for (const c of this.clients()) {
      if (c.authzCache === undefined || (clientid !== undefined && c.clientInfo?.clientid !== clientid))
        continue;
      c.authzCache.clear();
      n++;
    }
    return n;
  }

  private readonly onAuthorize = (ci: ClientInfo, action: AuthzAction, topic: string) => {
    if (this.active.length === 0) return undefined;
    return this.runFrom(this.active, 0, ci, action, topic);
  };

  private runFrom(
    entries: readonly Entry[],
    start: number,
    ci: ClientInfo,
    action: AuthzAction,
    topic: string,
  ): undefined | { stop: AuthzResult } | Promise<undefined | { stop: AuthzResult }> {
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      const m = this.countersOf(e.type);
      m.inc('total');
      let r: AuthzAnswer | Promise<AuthzAnswer>;
      try {
        r = e.source.authorize(ci, action, topic);
      } catch (err) {
        failed(e, m, err);
        continue;
      }
      if (r instanceof Promise) {
        return r.then(
          (v) => this.decide(e, m, v) ?? this.runFrom(entries, i + 1, ci, action, topic),
          (err) => {
            failed(e, m, err);
            return this.runFrom(entries, i + 1, ci, action, topic);
          },
        );
      }
      const d = this.decide(e, m, r);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  private decide(e: Entry, m: Counters<MetricName>, a: AuthzAnswer): { stop: AuthzResult } | undefined {
    m.inc(a, false);
    return a === 'nomatch' ? undefined : { stop: { result: a, from: e.type } };
  }

  private countersOf(type: string): Counters<MetricName> {
    let m = this.metrics.get(type);
    if (m === undefined) {
      m = new Counters(METRICS);
      this.metrics.set(type, m);
    }
    return m;
  }

  private prepare(configs: readonly unknown[]) {
    const out: Array<{
      type: string;
      provider: AuthzSourceProvider;
      config: Record<string, unknown>;
      decoded: unknown;
      fingerprint: string;
    }> = [];
    for (const [i, raw] of configs.entries()) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw new AuthzError('BAD_REQUEST', `authorization.sources[${i}]: expected an object`);
      const r = raw as Record<string, unknown>;
      const type = typeof r.type === 'string' ? r.type : undefined;
      if (type === undefined)
        throw new AuthzError('BAD_REQUEST', `authorization.sources[${i}]: type is required`);
      const provider = this.providers.get(type);
      if (provider === undefined)
        throw new AuthzError('BAD_REQUEST', `authorization.sources[${i}]: unknown source type ${type}`);
      if (out.some((p) => p.type === type))
        throw new AuthzError('ALREADY_EXISTS', `source ${type} appears twice`);
      const checked = checkConfig(provider.schema, r);
      if (typeof checked === 'string') throw new AuthzError('BAD_REQUEST', `${type}: ${checked}`);
      out.push({ type, provider, ...checked, fingerprint: JSON.stringify(r) });
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function view(e: Entry): SourceView {
  return { type: e.type, enable: e.enable, config: structuredClone(e.config) };
}

function failed(e: Entry, m: Counters<MetricName>, err: unknown): void {
  m.inc('ignore', false);
  logger.warn(
    { source: e.type, reason: (err as Error)?.message ?? String(err) },
    `authorization: source ${e.type} failed; trying the next source`,
  );
}

async function destroy(e: Entry): Promise<void> {
  try {
    await e.source.destroy?.();
  } catch (err) {
    logger.warn({ source: e.type, err }, 'authorization: error while closing a source');
  }
}
