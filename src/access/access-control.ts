/**
 * Access control as channels of every protocol see it: authenticate a credential, authorize an action.
 * Both run through hooks (client.authenticate at 970, client.authorize at 960), so authenticators,
 * authorization sources, ExHook and plugins all plug in the same way. With no callback registered,
 * authentication lets everyone in and authorization answers the configured no_match.
 */
import type { Hooks } from '../broker/hooks.js';
import type { Metrics } from '../broker/metrics.js';
import type { AuthnResult, AuthzAction, AuthzResult, ClientInfo, Credential } from '../broker/types.js';
import { isSysTopic } from './authz/sys-publish.js';
import type { AuthzCache, AuthzCacheSettings } from './authz-cache.js';

/** Answers from the rules a client brought from authentication (the client_info source). */
export type ClientAclCheck = (
  client: ClientInfo,
  action: AuthzAction,
  topic: string,
) => 'allow' | 'deny' | undefined;

export interface AuthzSettings {
  noMatch: 'allow' | 'deny';
  denyAction: 'ignore' | 'disconnect';
}

const IGNORE: AuthnResult = { kind: 'ignore' };

export class AccessControl {
  /** Set by the authorization service: evaluates `client.acl` before the authorize hook runs. */
  clientAcl: ClientAclCheck | undefined;
  /** Authorization cache settings for connections that log in from now on (authorization.cache). */
  authzCache: AuthzCacheSettings = { enable: true, maxSize: 32, ttl: 60_000 };

  constructor(
    private readonly hooks: Hooks,
    private readonly metrics: Metrics,
    public authz: AuthzSettings = { noMatch: 'allow', denyAction: 'ignore' },
  ) {}

  /**
   * Runs the authentication chain. A final `ignore` means no authenticator claimed the client: it is let
   * in as anonymous (EMQX semantics).
   */
  authenticate(credential: Credential): AuthnResult | Promise<AuthnResult> {
    if (!this.hooks.has('client.authenticate')) return this.anonymous();
    this.metrics.c['client.authenticate']++;
    const r = this.hooks.runFold('client.authenticate', [credential], IGNORE);
    return r instanceof Promise ? r.then((v) => this.counted(v)) : this.counted(r);
  }

  /**
   * Whether authenticating needs a credential: false while no authenticator listens, when `authenticate`
   * would only count the login as anonymous (`anonymous()` does that without a credential to build).
   */
  get hasAuthenticators(): boolean {
    return this.hooks.has('client.authenticate');
  }

  /** Counts a login nobody authenticates (no authenticator listens) and lets it in as anonymous. */
  anonymous(): AuthnResult {
    this.metrics.c['client.authenticate']++;
    return this.counted(IGNORE);
  }

  private counted(r: AuthnResult): AuthnResult {
    const c = this.metrics.c;
    if (r.kind === 'ignore') {
      c['client.auth.anonymous']++;
      c['authentication.success.anonymous']++;
      c['authentication.success']++;
    } else if (r.kind === 'ok') c['authentication.success']++;
    else if (r.kind === 'error') c['authentication.failure']++;
    return r;
  }

  /**
   * The answer without consulting anybody, when nothing can change it (superuser, or no authorization
   * callback at all); undefined when a full check is needed. Lets the publish path skip building an action.
   * A publish `topic` under `$SYS` always needs the full check.
   */
  quickAnswer(client: ClientInfo, topic?: string): boolean | undefined {
    if (topic !== undefined && isSysTopic(topic)) return undefined;
    if (!client.is_superuser && (this.hooks.has('client.authorize') || this.hasOwnAcl(client)))
      return undefined;
    const c = this.metrics.c;
    c['client.authorize']++;
    if (client.is_superuser) {
      c['authorization.superuser']++;
      c['authorization.allow']++;
      return true;
    }
    return this.decided(this.authz.noMatch === 'allow');
  }

  /**
   * Decides whether `client` may do `action` on `topic` (unmounted). Superusers are always allowed.
   * Synchronous unless an async authorization callback runs; the per-connection cache is consulted first.
   */
  authorize(
    client: ClientInfo,
    action: AuthzAction,
    topic: string,
    cache?: AuthzCache,
  ): boolean | Promise<boolean> {
    const c = this.metrics.c;
    c['client.authorize']++;
    // Only the broker publishes $SYS: neither superuser status nor no_match grants it, only a rule.
    const sys = action.action_type === 'publish' && isSysTopic(topic);
    if (client.is_superuser && !sys) {
      c['authorization.superuser']++;
      c['authorization.allow']++;
      return true;
    }
    const ownAcl = this.hasOwnAcl(client);
    if (!ownAcl && !this.hooks.has('client.authorize'))
      return this.decided(!sys && this.authz.noMatch === 'allow');
    const now = Date.now();
    if (cache !== undefined) {
      const hit = cache.get(action, topic, now);
      if (hit !== undefined) {
        c['authorization.cache_hit']++;
        this.completed(client, action, topic, hit ? 'allow' : 'deny', 'cache');
        return this.decided(hit);
      }
      c['authorization.cache_miss']++;
    }
    const finish = (v: AuthzResult): boolean => {
      const allow = v.result === 'allow' && !(sys && v.from === 'default');
      if (v.from === 'default') c['authorization.nomatch']++;
      else c[allow ? 'authorization.matched.allow' : 'authorization.matched.deny']++;
      cache?.set(action, topic, allow, now);
      this.completed(client, action, topic, v.result, v.from);
      return this.decided(allow);
    };
    if (ownAcl) {
      const p = this.clientAcl!(client, action, topic);
      if (p !== undefined) return finish({ result: p, from: 'client_info' });
    }
    const r = this.hooks.runFold('client.authorize', [client, action, topic], {
      result: sys ? 'deny' : this.authz.noMatch,
      from: 'default',
    });
    return r instanceof Promise ? r.then(finish) : finish(r);
  }

  private hasOwnAcl(client: ClientInfo): boolean {
    return client.acl !== undefined && this.clientAcl !== undefined;
  }

  private completed(
    client: ClientInfo,
    action: AuthzAction,
    topic: string,
    result: string,
    from: string,
  ): void {
    if (this.hooks.has('client.check_authz_complete'))
      void this.hooks.run('client.check_authz_complete', client, action, topic, result, from);
  }

  private decided(allow: boolean): boolean {
    this.metrics.c[allow ? 'authorization.allow' : 'authorization.deny']++;
    return allow;
  }
}
