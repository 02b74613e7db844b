/**
 * Authentication chains (EMQX `emqx_authn_chains`): named, ordered lists of authenticators, run by the
 * client.authenticate hook at priority 970. A client uses the chain named after its listener when that
 * chain has authenticators, otherwise `<protocol>:global`. In a chain, `ignore` moves on, the first ok or
 * error wins, and when every enabled authenticator ignores the client is refused; a chain with no enabled
 * authenticator lets everyone in (anonymous).
 */
import { HookPriority, type Hooks } from '../../broker/hooks.js';
import type { AuthnResult, Credential } from '../../broker/types.js';
import { logger } from '../../log.js';
import type { Db } from '../../store/db.js';
import { Counters } from '../counters.js';
import { checkConfig } from '../schema-parts.js';
import {
  type Authenticator,
  type AuthnEnv,
  AuthnError,
  type AuthnProvider,
  authenticatorId,
  type ResourceStatus,
  type UserStore,
} from './types.js';

/** What a chain answers when every enabled authenticator ignored the client. */
const EXHAUSTED: AuthnResult = {
  kind: 'error',
  reason: 'not_authorized',
  message: 'no authenticator accepted the client',
};

const METRICS = ['total', 'success', 'failed', 'nomatch'] as const;
type MetricName = (typeof METRICS)[number];

/** An authenticator in a chain, as the API shows it. */
export interface AuthenticatorView {
  id: string;
  enable: boolean;
  /** The config in file form with defaults filled in (secrets not masked: the API masks them). */
  config: Record<string, unknown>;
}

interface Entry {
  id: string;
  enable: boolean;
  provider: AuthnProvider;
  /** Config in file form with defaults (what was validated, what the API returns). */
  config: Record<string, unknown>;
  /** JSON of the raw config, to keep an unchanged authenticator (and its connections) across updates. */
  fingerprint: string;
  instance: Authenticator;
  env: AuthnEnv;
  /**
   * Its metrics, looked up once: finding them by `chain/id` on every login (a string built, a map probed)
   * was ~1.4 µs of a CONNECT's broker CPU (--cpu-prof, 2026-12-05).
   */
  counters: Counters<MetricName>;
}

/** A validated config, ready to build. */
interface Prepared {
  id: string;
  provider: AuthnProvider;
  config: Record<string, unknown>;
  decoded: unknown;
  fingerprint: string;
}

/** The global chain name of a protocol (EMQX: 'mqtt:global', 'stomp:global', …). */
export function globalChain(protocol: string): string {
  return `${protocol}:global`;
}

export class AuthnService {
  private readonly providers = new Map<string, AuthnProvider>();
  private readonly chains = new Map<string, Entry[]>();
  /** Enabled authenticators per chain (what the hook runs). */
  private readonly active = new Map<string, Entry[]>();
  private readonly metrics = new Map<string, Counters<MetricName>>();
  private db: Db | undefined;
  private offHook: (() => void) | undefined;
  private started = false;
  // Chain changes run one at a time so two API calls cannot interleave their create/destroy steps.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly hooks: Hooks) {}

  /** Makes a mechanism/backend available. Returns an unregister function (existing authenticators stay). */
  registerProvider(p: AuthnProvider): () => void {
    const id = authenticatorId(p.mechanism, p.backend);
    if (this.providers.has(id)) throw new Error(`authentication provider ${id} is already registered`);
    this.providers.set(id, p);
    return () => {
      if (this.providers.get(id) === p) this.providers.delete(id);
    };
  }

  /** Every registered provider, in registration order (forms list the mechanisms/backends a node has). */
  providerList(): AuthnProvider[] {
    return [...this.providers.values()];
  }

  /** The provider of an id ('password_based:mysql'), if registered. */
  provider(id: string): AuthnProvider | undefined {
    return this.providers.get(id);
  }

  /** Opens the service on the node store and starts answering client.authenticate. */
  start(db: Db): void {
    this.db = db;
    this.started = true;
    this.syncHook();
  }

  /** Stops answering and closes every authenticator. */
  async stop(): Promise<void> {
    this.started = false;
    this.syncHook();
    await this.serial(async () => {
      for (const entries of this.chains.values()) await Promise.all(entries.map((e) => destroy(e)));
      this.chains.clear();
      this.active.clear();
    });
  }

  /** Names of the chains that exist. */
  chainNames(): string[] {
    return [...this.chains.keys()];
  }

  /** A chain's authenticators in order, or undefined when the chain does not exist. */
  chain(name: string): AuthenticatorView[] | undefined {
    return this.chains.get(name)?.map(view);
  }

  /** One authenticator of a chain. */
  authenticator(chain: string, id: string): AuthenticatorView | undefined {
    const e = this.chains.get(chain)?.find((x) => x.id === id);
    return e === undefined ? undefined : view(e);
  }

  /** The user database of an authenticator (built_in_database, scram), or undefined. */
  users(chain: string, id: string): UserStore | undefined {
    return this.chains.get(chain)?.find((x) => x.id === id)?.instance.users;
  }

  /**
   * Checks configs without applying them: ids, providers, schemas, duplicates. Throws AuthnError
   * (BAD_REQUEST, ALREADY_EXISTS) naming the problem.
   */
  validate(configs: readonly unknown[]): void {
    this.prepare(configs);
  }

  /**
   * Replaces a chain with these authenticator configs (raw, file form), in order. Authenticators whose
   * config did not change are kept as they are (connections, metrics); removed ones are closed and their
   * users dropped. An empty list removes the chain. Rejects (changing nothing) when a config is invalid.
   */
  setChain(name: string, configs: readonly unknown[]): Promise<void> {
    return this.serial(async () => {
      const db = this.db;
      if (db === undefined) throw new Error('authentication service is not started');
      const prepared = this.prepare(configs);
      const old = this.chains.get(name) ?? [];
      const kept = new Set<Entry>();
      const next: Entry[] = [];
      const created: Entry[] = [];
      try {
        for (const p of prepared) {
          const same = old.find((e) => e.id === p.id && e.fingerprint === p.fingerprint);
          if (same !== undefined) {
            kept.add(same);
            next.push(same);
            continue;
          }
          const env: AuthnEnv = { db, chain: name, id: p.id, userGroup: `${name}/${p.id}` };
          const instance = await p.provider.create(p.decoded, env);
          const entry: Entry = {
            id: p.id,
            enable: p.config.enable !== false,
            provider: p.provider,
            config: p.config,
            fingerprint: p.fingerprint,
            instance,
            env,
            counters: this.countersOf(name, p.id),
          };
          created.push(entry);
          next.push(entry);
        }
      } catch (err) {
        await Promise.all(created.map((e) => destroy(e)));
        if (err instanceof AuthnError) throw err;
        throw new AuthnError('BAD_REQUEST', (err as Error).message);
      }
      this.install(name, next);
      const stillThere = new Set(next.map((e) => e.id));
      for (const e of old) {
        if (kept.has(e)) continue;
        await destroy(e);
        if (!stillThere.has(e.id)) {
          e.provider.dropData?.(e.env);
          this.metrics.delete(`${name}/${e.id}`);
        }
      }
    });
  }

  /** Removes a chain and its authenticators. */
  deleteChain(name: string): Promise<void> {
    return this.setChain(name, []);
  }

  /** Health and metrics of one authenticator (the status API). */
  async status(
    chain: string,
    id: string,
  ): Promise<{ status: ResourceStatus; metrics: Record<string, number> } | undefined> {
    const e = this.chains.get(chain)?.find((x) => x.id === id);
    if (e === undefined) return undefined;
    let status: ResourceStatus = 'connected';
    try {
      status = (await e.instance.status?.()) ?? 'connected';
    } catch {
      status = 'disconnected';
    }
    return { status, metrics: this.countersOf(chain, id).snapshot() };
  }

  /**
   * Runs the authentication a client of `credential.listener` / `credential.protocol` goes through. This is
   * what the hook calls; gateways may call it directly too. undefined = no chain applies (anonymous).
   */
  authenticate(credential: Credential): AuthnResult | Promise<AuthnResult> | undefined {
    const entries = this.active.get(credential.listener) ?? this.active.get(globalChain(credential.protocol));
    if (entries === undefined || entries.length === 0) return undefined;
    return this.runFrom(entries, 0, credential);
  }

  private readonly onAuthenticate = (credential: Credential) => {
    const r = this.authenticate(credential);
    if (r === undefined) return undefined;
    return r instanceof Promise ? r.then(toFold) : toFold(r);
  };

  private runFrom(
    entries: readonly Entry[],
    start: number,
    cred: Credential,
  ): AuthnResult | Promise<AuthnResult> {
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      const m = e.counters;
      m.inc('total');
      let r: AuthnResult | Promise<AuthnResult>;
      try {
        r = e.instance.authenticate(cred);
      } catch (err) {
        failed(e, err);
        m.inc('nomatch', false);
        continue;
      }
      if (r instanceof Promise) {
        return r.then(
          (v) => (this.count(m, v) ? v : this.runFrom(entries, i + 1, cred)),
          (err) => {
            failed(e, err);
            m.inc('nomatch', false);
            return this.runFrom(entries, i + 1, cred);
          },
        );
      }
      if (this.count(m, r)) return r;
    }
    return EXHAUSTED;
  }

  /** Counts a result; true when it ends the chain. */
  private count(m: Counters<MetricName>, r: AuthnResult): boolean {
    switch (r.kind) {
      case 'ignore':
        m.inc('nomatch', false);
        return false;
      case 'ok':
        m.inc('success', false);
        return true;
      case 'error':
        m.inc('failed', false);
        return true;
      default:
        return true;
    }
  }

  private countersOf(chain: string, id: string): Counters<MetricName> {
    const key = `${chain}/${id}`;
    let m = this.metrics.get(key);
    if (m === undefined) {
      m = new Counters(METRICS);
      this.metrics.set(key, m);
    }
    return m;
  }

  private install(name: string, entries: Entry[]): void {
    if (entries.length === 0) {
      this.chains.delete(name);
      this.active.delete(name);
    } else {
      this.chains.set(name, entries);
      // EMQX picks the listener chain when it has authenticators at all, even if none is enabled.
      this.active.set(
        name,
        entries.filter((e) => e.enable),
      );
    }
    this.syncHook();
  }

  /**
   * Listens on client.authenticate only while some chain has an enabled authenticator: with none, the hook
   * would answer "ignore" to every login anyway, and an empty hook point lets a CONNECT skip building the
   * credential and running the chain (~3 % of its broker CPU with no authentication, 2026-12-04).
   */
  private syncHook(): void {
    let wanted = false;
    if (this.started) for (const entries of this.active.values()) if (entries.length > 0) wanted = true;
    if (wanted) {
      this.offHook ??= this.hooks.add(
        'client.authenticate',
        this.onAuthenticate,
        HookPriority.AUTHN,
        'authn',
      );
    } else if (this.offHook !== undefined) {
      this.offHook();
      this.offHook = undefined;
    }
  }

  private prepare(configs: readonly unknown[]): Prepared[] {
    const out: Prepared[] = [];
    for (const [i, raw] of configs.entries()) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw new AuthnError('BAD_REQUEST', `authentication[${i}]: expected an object`);
      const r = raw as Record<string, unknown>;
      const mechanism = typeof r.mechanism === 'string' ? r.mechanism : undefined;
      const backend = typeof r.backend === 'string' ? r.backend : undefined;
      if (mechanism === undefined)
        throw new AuthnError('BAD_REQUEST', `authentication[${i}]: mechanism is required`);
      const id = authenticatorId(mechanism, backend);
      const provider = this.providers.get(id);
      if (provider === undefined)
        throw new AuthnError('BAD_REQUEST', `authentication[${i}]: unsupported authenticator ${id}`);
      if (out.some((p) => p.id === id))
        throw new AuthnError('ALREADY_EXISTS', `authenticator ${id} appears twice`);
      const checked = checkConfig(provider.schema, r);
      if (typeof checked === 'string') throw new AuthnError('BAD_REQUEST', `${id}: ${checked}`);
      out.push({ id, provider, ...checked, fingerprint: JSON.stringify(r) });
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function view(e: Entry): AuthenticatorView {
  return { id: e.id, enable: e.enable, config: structuredClone(e.config) };
}

/** Every enabled authenticator ignoring means refusal, but lower-priority hooks (ExHook) may still decide. */
function toFold(r: AuthnResult) {
  return r === EXHAUSTED ? { ok: r } : { stop: r };
}

function failed(e: Entry, err: unknown): void {
  logger.warn(
    { authenticator: e.id, chain: e.env.chain, reason: (err as Error)?.message ?? String(err) },
    `authentication: ${e.id} failed; treating it as ignore`,
  );
}

async function destroy(e: Entry): Promise<void> {
  try {
    await e.instance.destroy?.();
  } catch (err) {
    logger.warn({ authenticator: e.id, err }, 'authentication: error while closing an authenticator');
  }
}
