/**
 * ExHook on a node: the configured servers in call order, the broker hook callbacks registered while at
 * least one loaded server wants their hook point, live config changes (`exhook.servers`), the health check
 * and the rate sampling.
 */
import { type HookCallback, HookPriority, type Hooks } from '../broker/hooks.js';
import type { ExhookServerConfig } from '../config/schema/exhook.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ConfigService } from '../config/service.js';
import { logger } from '../log.js';
import { SYSDESCR, VERSION } from '../version.js';
import { createCallbacks, type ExhookCallbacks } from './callbacks.js';
import type { ExHookServer } from './server.js';
import { EXHOOK_POINTS, type ExhookPoint, type PbBrokerInfo, type PbRequestMeta } from './wire.js';

/** The parts of a node ExHook uses. */
export interface ExhookNode {
  readonly hooks: Hooks;
  readonly name: string;
  readonly config: HermodConfig;
  readonly configService: ConfigService;
  /** Reports the broker's uptime (BrokerInfo.uptime); absent before the node started. */
  readonly sys: { readonly uptime: number } | undefined;
}

/** How often every loaded server's connections are checked (EMQX: 5 s). */
const HEALTH_INTERVAL = 5000;
const OWNER = 'exhook';

/**
 * The server class, with @grpc/grpc-js and @grpc/proto-loader behind it: loaded when the first server is
 * configured, not at every start (the two took ~250 ms of a default start's module loading, 2026-12-04).
 */
let serverClass: Promise<typeof ExHookServer> | undefined;
function loadServerClass(): Promise<typeof ExHookServer> {
  serverClass ??= import('./server.js').then((m) => m.ExHookServer);
  return serverClass;
}

/** Thrown by a config change the service refuses (the change is rolled back). */
export class ExhookConfigError extends Error {}

/** Every ExHook server of a node. */
export class ExHookService {
  private list: ExHookServer[] = [];
  /** Made at start: the node's name is not known while the node is still being constructed. */
  private callbacks: ExhookCallbacks | undefined;
  private readonly registered = new Map<ExhookPoint, () => void>();
  private timers: NodeJS.Timeout[] = [];
  private offChange: (() => void) | undefined;
  private readonly startedAt = Date.now();

  constructor(private readonly node: ExhookNode) {}

  /** Loads the configured servers (first attempt awaited) and follows config changes. */
  async start(): Promise<void> {
    this.callbacks = createCallbacks({
      servers: () => this.list,
      nodeName: this.node.name,
      meta: () => this.meta(),
    });
    const cfgs = uniqueByName(this.node.config.exhook.servers);
    const Server = cfgs.length === 0 ? undefined : await loadServerClass();
    this.list = Server === undefined ? [] : cfgs.map((c) => this.create(Server, c));
    this.offChange = this.node.configService.onChange('exhook', (next) => this.apply(next.servers));
    this.timers = [
      setInterval(() => this.list.forEach((s) => void s.healthCheck()), HEALTH_INTERVAL),
      setInterval(() => {
        const now = Date.now();
        for (const s of this.list) s.sample(now);
      }, 1000),
    ];
    for (const t of this.timers) t.unref();
    await Promise.all(this.list.map((s) => s.start()));
  }

  /** Unloads every server. */
  async stop(): Promise<void> {
    this.offChange?.();
    for (const t of this.timers) clearInterval(t);
    const all = this.list;
    this.list = [];
    await Promise.all(all.map((s) => s.stop()));
    this.refresh();
  }

  /** The servers in call order (disabled ones included). */
  servers(): readonly ExHookServer[] {
    return this.list;
  }

  /** One server by name. */
  server(name: string): ExHookServer | undefined {
    return this.list.find((s) => s.name === name);
  }

  /**
   * Applies a new server list: removed servers are unloaded, changed ones restarted, new ones loaded (first
   * attempt awaited), and the call order becomes the list order.
   */
  async apply(next: readonly ExhookServerConfig[]): Promise<void> {
    const seen = new Set<string>();
    for (const c of next) {
      if (seen.has(c.name)) throw new ExhookConfigError(`duplicate exhook server name: ${c.name}`);
      seen.add(c.name);
    }
    const Server = next.length === 0 ? undefined : await loadServerClass();
    const old = new Map(this.list.map((s) => [s.name, s]));
    const starting: ExHookServer[] = [];
    const stopping: ExHookServer[] = [];
    const list = next.map((cfg) => {
      const existing = old.get(cfg.name);
      if (existing !== undefined) {
        old.delete(cfg.name);
        if (sameConfig(existing.cfg, cfg)) return existing;
        stopping.push(existing);
      }
      const s = this.create(Server!, cfg);
      starting.push(s);
      return s;
    });
    stopping.push(...old.values());
    this.list = list;
    await Promise.all(stopping.map((s) => s.stop()));
    await Promise.all(starting.map((s) => s.start()));
    this.refresh();
  }

  private create(Server: typeof ExHookServer, cfg: ExhookServerConfig): ExHookServer {
    return new Server(cfg, {
      brokerInfo: () => this.brokerInfo(),
      meta: () => this.meta(),
      hooksChanged: () => this.refresh(),
    });
  }

  /** Registers the callback of every hook point some server wants, and removes the others. */
  private refresh(): void {
    const callbacks = this.callbacks;
    if (callbacks === undefined) return;
    for (const point of EXHOOK_POINTS) {
      const wanted = this.list.some((s) => s.hookSpecs().some((h) => h.name === point));
      const off = this.registered.get(point);
      if (wanted && off === undefined) {
        const cb = callbacks[point] as HookCallback<typeof point>;
        this.registered.set(point, this.node.hooks.add(point, cb, HookPriority.EXHOOK, OWNER));
      } else if (!wanted && off !== undefined) {
        off();
        this.registered.delete(point);
      }
    }
  }

  private brokerInfo(): PbBrokerInfo {
    return {
      version: VERSION,
      sysdescr: SYSDESCR,
      uptime: this.uptime(),
      datetime: new Date().toISOString(),
    };
  }

  private uptime(): number {
    return this.node.sys?.uptime ?? Date.now() - this.startedAt;
  }

  private meta(): PbRequestMeta {
    return { node: this.node.name, version: VERSION, sysdescr: SYSDESCR, cluster_name: 'hermod' };
  }
}

/** The configs with a repeated name dropped (logged): a boot config is not refused for it, only an update. */
function uniqueByName(cfgs: readonly ExhookServerConfig[]): ExhookServerConfig[] {
  const seen = new Set<string>();
  return cfgs.filter((c) => {
    if (seen.has(c.name)) {
      logger.error({ exhook: c.name }, 'exhook: duplicate server name in config; later entry ignored');
      return false;
    }
    seen.add(c.name);
    return true;
  });
}

/** Key-order-independent equality of two decoded server configs. */
function sameConfig(a: ExhookServerConfig, b: ExhookServerConfig): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
