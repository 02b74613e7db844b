/**
 * What a plugin's `start(api)` receives, and the scope behind it: every hook, provider, route, ctl command,
 * subscription and timer a plugin registers is recorded so that stopping the plugin removes all of it.
 * Plugin callbacks are guarded: a throw or rejection is logged with the plugin's name, counted, and the
 * hook goes on as if the callback had returned nothing; a callback slower than the budget is reported.
 */
import { performance } from 'node:perf_hooks';
import type { AuthnService } from '../access/authn/service.js';
import type { AuthnProvider } from '../access/authn/types.js';
import type { AuthzService } from '../access/authz/service.js';
import type { AuthzSourceProvider } from '../access/authz/types.js';
import type { Broker } from '../broker/broker.js';
import type { HookCallback, HookPoint, Hooks } from '../broker/hooks.js';
import { Message } from '../broker/message.js';
import { topicMatches } from '../broker/topic.js';
import { type Logger, logger } from '../log.js';
import type { QoS } from '../mqtt/codec/packets.js';

/** Read-only facts about the node a plugin runs on. */
export interface PluginNodeFacts {
  readonly name: string;
  readonly version: string;
  readonly dataDir: string;
  /** The unpacked package directory (NAME-VSN/). */
  readonly pluginDir: string;
  /** `node.profile`: development-only plugins refuse to start on `prod` unless forced. */
  readonly profile: 'prod' | 'dev';
}

/** One installed plugin, as another plugin sees it. */
export interface PluginSummary {
  readonly name: string;
  readonly nameVsn: string;
  /** The unpacked package directory the node loads the plugin from. */
  readonly dir: string;
  readonly running: boolean;
}

/** What a plugin may do to the other plugins of its node (the reloader's needs). */
export interface PluginControl {
  list(): PluginSummary[];
  /**
   * Loads NAME's package files again (a fresh module instance, every file of the package re-read) and,
   * if it was running, stops the old instance and starts the new one. Rejects when the new code fails to
   * load or start; the plugin is then stopped.
   */
  reload(name: string): Promise<void>;
}

/** An HTTP request to a plugin route (`/api/v5/plugin_api/NAME/…`), already authenticated. */
export interface PluginHttpRequest {
  method: string;
  /** The path below /api/v5/plugin_api/NAME. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

/** A plugin route's answer: status (default 200) and a JSON body. */
export interface PluginHttpResponse {
  status?: number;
  body?: unknown;
}

export type PluginRouteHandler = (req: PluginHttpRequest) => PluginHttpResponse | Promise<PluginHttpResponse>;

/** A `hermod ctl <name> …` command a plugin adds. */
export interface PluginCtlCommand {
  /** Usage lines, e.g. `['cmd arg1 arg2   # Explain it']`. */
  usage: string[];
  /** Runs the command; the returned text (or lines) is printed. Throw to fail with the message. */
  run(args: string[]): string | string[] | Promise<string | string[]>;
}

/** Publish options of a broker-side publish. */
export interface PluginPublishOptions {
  qos?: QoS;
  retain?: boolean;
}

/** Counters and gauges a plugin keeps; they show in `/api/v5/prometheus/stats`. */
export interface PluginMetrics {
  inc(name: string, by?: number): void;
  set(name: string, value: number): void;
  get(name: string): number;
}

/** The API a plugin gets in start(api). Everything registered through it is removed when the plugin stops. */
export interface PluginApi {
  /** The plugin's name (without version). */
  readonly name: string;
  readonly nameVsn: string;
  readonly node: PluginNodeFacts;
  /** A child logger tagged with the plugin's name. */
  readonly log: Logger;
  readonly metrics: PluginMetrics;
  /** This plugin's current config (its own config.hocon, never another plugin's). */
  config(): Record<string, unknown>;
  /** Registers a hook callback (EMQX hook points and semantics); higher priority runs first. */
  hook<H extends HookPoint>(point: H, fn: HookCallback<H>, priority?: number): () => void;
  /** Adds an authentication backend type usable in chains and in the API. */
  registerAuthnProvider(provider: AuthnProvider): () => void;
  /** Adds an authorization source type. */
  registerAuthzSource(provider: AuthzSourceProvider): () => void;
  /** Adds `hermod ctl <command> …`. */
  ctl(command: string, cmd: PluginCtlCommand): void;
  /** Adds an HTTP route under /api/v5/plugin_api/NAME (path segments like `:id` become params). */
  route(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: PluginRouteHandler): void;
  /** Publishes as the broker (client id `plugin:NAME`); resolves to the number of receivers. */
  publish(topic: string, payload: string | Buffer, opts?: PluginPublishOptions): number | Promise<number>;
  /** Sees every message published on topics matching `filter` (after the message.publish hooks). */
  subscribe(filter: string, handler: (msg: Message) => void): () => void;
  setTimeout(fn: () => void, ms: number): () => void;
  setInterval(fn: () => void, ms: number): () => void;
  /** The node's installed plugins: list them, reload one from its files. */
  readonly plugins: PluginControl;
}

/** What a plugin module exports (as its default export or as named exports). */
export interface HermodPlugin {
  start(api: PluginApi): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** Called on a config change, even when stopped; throw (or reject) to refuse the new config. */
  onConfigChanged?(
    oldConfig: Record<string, unknown>,
    newConfig: Record<string, unknown>,
  ): void | Promise<void>;
  /** Resolves when healthy; throw or return an error text when not. */
  healthCheck?(): undefined | string | Promise<undefined | string>;
}

/** The node parts a plugin scope registers into. */
export interface PluginHost {
  readonly hooks: Hooks;
  readonly broker: Broker;
  readonly authn: AuthnService;
  readonly authz: AuthzService;
  readonly facts: Omit<PluginNodeFacts, 'pluginDir'>;
  readonly control: PluginControl;
  /** Slow-callback budget in ms, read on every call so a config change applies at once. */
  slowThresholdMs(): number;
}

interface HookReg {
  point: HookPoint;
  fn: HookCallback<HookPoint>;
  priority: number;
  guarded: HookCallback<HookPoint>;
}

/** A route registered by a plugin. */
export interface PluginRoute {
  method: string;
  segments: string[];
  handler: PluginRouteHandler;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** Below every built-in user: subscribers see the message as the other hooks left it. */
const SUBSCRIBER_PRIORITY = -1000;

/** One started plugin's registrations; dispose() removes them all. */
export class PluginScope {
  readonly owner: string;
  readonly log: Logger;
  readonly routes: PluginRoute[] = [];
  readonly ctlCommands = new Map<string, PluginCtlCommand>();
  readonly counters = new Map<string, number>();
  private readonly hookRegs: HookReg[] = [];
  private readonly disposers: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private disposed = false;
  readonly api: PluginApi;

  constructor(
    private readonly host: PluginHost,
    readonly name: string,
    nameVsn: string,
    pluginDir: string,
    private currentConfig: Record<string, unknown>,
    /** Failures and slow calls are counted on the plugin's record, which outlives its scopes. */
    private readonly stats: { errors: number; slow: number },
  ) {
    this.owner = `plugin:${name}`;
    this.log = logger.child({ plugin: name });
    const facts: PluginNodeFacts = Object.freeze({ ...host.facts, pluginDir });
    const counters = this.counters;
    this.api = Object.freeze({
      name,
      nameVsn,
      node: facts,
      log: this.log,
      metrics: Object.freeze({
        inc: (k: string, by = 1) => void counters.set(k, (counters.get(k) ?? 0) + by),
        set: (k: string, v: number) => void counters.set(k, v),
        get: (k: string) => counters.get(k) ?? 0,
      }),
      config: () => structuredClone(this.currentConfig),
      hook: <H extends HookPoint>(point: H, fn: HookCallback<H>, priority = 0) =>
        this.addHook(point, fn as HookCallback<HookPoint>, priority),
      registerAuthnProvider: (p: AuthnProvider) => this.track(host.authn.registerProvider(p)),
      registerAuthzSource: (p: AuthzSourceProvider) => this.track(host.authz.registerProvider(p)),
      ctl: (command: string, cmd: PluginCtlCommand) => {
        this.live();
        if (!/^[a-z][a-z0-9_-]*$/.test(command)) throw new Error(`bad ctl command name: ${command}`);
        this.ctlCommands.set(command, cmd);
      },
      route: (method: string, path: string, handler: PluginRouteHandler) => {
        this.live();
        this.routes.push({ method: method.toUpperCase(), segments: splitPath(path), handler });
      },
      publish: (topic: string, payload: string | Buffer, opts: PluginPublishOptions = {}) => {
        const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
        return host.broker.publish(new Message(topic, body, opts.qos ?? 0, this.owner, opts.retain ?? false));
      },
      subscribe: (filter: string, handler: (msg: Message) => void) =>
        this.addHook(
          'message.publish',
          ((msg: Message) => {
            if (msg.headers.allow_publish !== false && topicMatches(filter, msg.topic))
              this.guard(handler, msg);
            return undefined;
          }) as HookCallback<HookPoint>,
          SUBSCRIBER_PRIORITY,
        ),
      setTimeout: (fn: () => void, ms: number) => this.timer(false, fn, ms),
      setInterval: (fn: () => void, ms: number) => this.timer(true, fn, ms),
      plugins: host.control,
    });
  }

  /** Replaces the config the plugin sees. */
  setConfig(config: Record<string, unknown>): void {
    this.currentConfig = config;
  }

  /** Removes the hooks and registers them again, e.g. after the plugin order changed. */
  rehook(): void {
    this.host.hooks.removeOwner(this.owner);
    for (const r of this.hookRegs) this.host.hooks.add(r.point, r.guarded, r.priority, this.owner);
  }

  /** Removes everything the plugin registered. */
  dispose(): void {
    this.disposed = true;
    this.host.hooks.removeOwner(this.owner);
    this.hookRegs.length = 0;
    for (const d of this.disposers.splice(0).reverse()) {
      try {
        d();
      } catch (err) {
        this.log.warn({ err }, 'plugin: unregistering failed');
      }
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.routes.length = 0;
    this.ctlCommands.clear();
  }

  /** Runs a plugin function, catching what it throws or rejects (counted and logged). */
  guard<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    try {
      const r = fn(...args);
      if (isThenable(r)) Promise.resolve(r).catch((err) => this.failed('callback', err));
    } catch (err) {
      this.failed('callback', err);
    }
  }

  private live(): void {
    if (this.disposed) throw new Error(`plugin ${this.name} is stopped`);
  }

  private track(off: () => void): () => void {
    this.live();
    this.disposers.push(off);
    return () => {
      const i = this.disposers.indexOf(off);
      if (i >= 0) this.disposers.splice(i, 1);
      off();
    };
  }

  private timer(repeat: boolean, fn: () => void, ms: number): () => void {
    this.live();
    const run = () => {
      if (!repeat) this.timers.delete(t);
      this.guard(fn);
    };
    const t = repeat ? setInterval(run, ms) : setTimeout(run, ms);
    t.unref();
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  private addHook(point: HookPoint, fn: HookCallback<HookPoint>, priority: number): () => void {
    this.live();
    const guarded = this.guardHook(point, fn);
    const reg: HookReg = { point, fn, priority, guarded };
    this.hookRegs.push(reg);
    this.host.hooks.add(point, guarded, priority, this.owner);
    return () => {
      const i = this.hookRegs.indexOf(reg);
      if (i >= 0) this.hookRegs.splice(i, 1);
      this.host.hooks.remove(point, guarded);
    };
  }

  private guardHook(point: HookPoint, fn: HookCallback<HookPoint>): HookCallback<HookPoint> {
    const call = fn as (...args: unknown[]) => unknown;
    const guarded = (...args: unknown[]): unknown => {
      const t0 = performance.now();
      let r: unknown;
      try {
        r = call(...args);
      } catch (err) {
        this.failed(point, err);
        return undefined;
      }
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          (v) => {
            this.timed(point, t0);
            return v;
          },
          (err) => {
            this.failed(point, err);
            return undefined;
          },
        );
      }
      this.timed(point, t0);
      return r;
    };
    return guarded as HookCallback<HookPoint>;
  }

  private timed(point: string, t0: number): void {
    const took = performance.now() - t0;
    const budget = this.host.slowThresholdMs();
    if (budget > 0 && took > budget) {
      this.stats.slow++;
      this.log.warn(
        { hook: point, took_ms: Math.round(took), budget_ms: budget },
        'plugin hook callback is slow',
      );
    }
  }

  private failed(where: string, err: unknown): void {
    this.stats.errors++;
    this.log.error({ hook: where, err }, 'plugin callback failed; skipped');
  }
}

/** Splits a route path into its segments ('/a/:b' → ['a', ':b']). */
export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** The params of `path` when `route` matches it, else undefined. */
export function matchRoute(
  route: PluginRoute,
  method: string,
  path: string[],
): Record<string, string> | undefined {
  if (route.method !== method || route.segments.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < path.length; i++) {
    const seg = route.segments[i]!;
    if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(path[i]!);
    else if (seg !== path[i]) return undefined;
  }
  return params;
}
