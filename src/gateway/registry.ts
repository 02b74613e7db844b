/**
 * The gateway registry (EMQX `emqx_gateway_registry` + `emqx_gateway_conf`): which gateways exist (the
 * catalogue), which are loaded, and the runtime changes to them. Every change (API, CLI) is a `gateway` config update:
 * validated against the composed schema, applied here through ConfigService.onChange, persisted.
 */
import type { RootKey } from '../config/service.js';
import { GatewayChains } from './authn.js';
import { GATEWAY_CATALOG } from './catalog.js';
import { type GatewayEnv, type GatewayHost, hostEnv } from './env.js';
import { Gateway, infinityAware } from './gateway.js';
import type {
  GatewayCommonConfig,
  GatewayDescriptor,
  GatewayListenerType,
  GatewayManifest,
  GatewayModule,
} from './types.js';

type Configs = Partial<Record<string, GatewayCommonConfig>>;
type Raw = Record<string, unknown>;

/** A refused registry operation; `status` maps to the HTTP answer. */
export class GatewayError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

const GATEWAY: RootKey = 'gateway' as RootKey;

/** Every gateway of the catalogue and the loaded gateways of a node (node.gateways). */
export class GatewayRegistry {
  readonly env: GatewayEnv;
  private readonly loaded = new Map<string, Gateway>();
  private readonly byName: Map<string, GatewayManifest>;
  private off: (() => void) | undefined;
  private readonly chains: GatewayChains;

  /** `catalog` defaults to every gateway Hermod ships (a test may pass its own). */
  constructor(
    private readonly host: GatewayHost,
    catalog: readonly GatewayManifest[] = GATEWAY_CATALOG,
  ) {
    this.env = hostEnv(host);
    this.chains = new GatewayChains(host);
    this.byName = new Map(catalog.map((m) => [m.name, m]));
  }

  /** Every gateway Hermod has, loaded or not. */
  modules(): GatewayDescriptor[] {
    return [...this.byName.values()];
  }

  module(name: string): GatewayDescriptor | undefined {
    return this.byName.get(name);
  }

  /** A gateway's code (loaded on first use). */
  async implementation(name: string): Promise<GatewayModule | undefined> {
    return this.byName.get(name)?.load();
  }

  /** A gateway's REST routes (undefined: it has none), without the rest of its code where the catalogue can. */
  async routes(name: string): Promise<GatewayModule['routes']> {
    const m = this.byName.get(name);
    if (m === undefined) return undefined;
    return m.loadRoutes !== undefined ? m.loadRoutes() : (await m.load()).routes;
  }

  /** A loaded gateway (running or stopped). */
  get(name: string): Gateway | undefined {
    return this.loaded.get(name);
  }

  /** Loads every gateway of the boot config and follows later `gateway` config changes. */
  async start(): Promise<void> {
    await this.apply(this.configs(), {});
    this.off = this.host.configService.onChange(GATEWAY as 'gateway', (next, prev) =>
      this.apply(next as Configs, prev as Configs),
    );
  }

  /** Stops every gateway (node shutdown). */
  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    for (const g of this.loaded.values()) await g.stop();
    this.loaded.clear();
    this.env.deadlines.stop();
  }

  private configs(): Configs {
    return (this.host.config.gateway ?? {}) as Configs;
  }

  /** Brings the loaded gateways in line with `next`; a failure puts back what changed and rethrows. */
  private async apply(next: Configs, prev: Configs): Promise<void> {
    const touched: string[] = [];
    try {
      for (const name of this.byName.keys()) {
        if (sameConfig(next[name], prev[name]) && (next[name] === undefined) === !this.loaded.has(name))
          continue;
        touched.push(name);
        await this.applyOne(name, next[name]);
      }
    } catch (err) {
      for (const name of touched.reverse()) {
        try {
          await this.applyOne(name, prev[name]);
        } catch (rollbackErr) {
          this.loaded.get(name)?.log.error({ err: rollbackErr }, 'gateway rollback failed');
        }
      }
      throw err;
    }
  }

  private async applyOne(name: string, cfg: GatewayCommonConfig | undefined): Promise<void> {
    const g = this.loaded.get(name);
    const m = this.byName.get(name)!;
    if (cfg === undefined) {
      if (g !== undefined) {
        this.loaded.delete(name);
        await g.stop();
      }
      await this.chains.sync(m, undefined);
      return;
    }
    // Authenticators first, so the first client of a new listener is already checked.
    await this.chains.sync(m, cfg);
    if (g !== undefined) {
      await g.update(cfg);
      return;
    }
    const gw = new Gateway(await m.load(), cfg, this.env);
    this.loaded.set(name, gw);
    if (cfg.enable) await gw.start();
  }

  // ---------------------------------------------------------------- runtime changes (API, CLI)

  /** The gateway's raw (file-form) config, or undefined when not loaded. */
  rawConfig(name: string): Raw | undefined {
    const all = this.host.configService.getRaw(GATEWAY) as Raw;
    const v = all[name];
    return v === undefined ? undefined : (structuredClone(v) as Raw);
  }

  private async write(name: string, value: Raw | undefined): Promise<void> {
    const all = this.host.configService.getRaw(GATEWAY) as Raw;
    if (value === undefined) delete all[name];
    else all[name] = value;
    await this.host.configService.update(GATEWAY, all);
  }

  private known(name: string): GatewayDescriptor {
    const m = this.byName.get(name);
    if (m === undefined) throw new GatewayError(400, `Unknown gateway ${name}`);
    return m;
  }

  private loadedRaw(name: string): Raw {
    this.known(name);
    const raw = this.rawConfig(name);
    if (raw === undefined) throw new GatewayError(404, 'Gateway not loaded');
    return raw;
  }

  /** Loads a gateway with `conf` (file form, listeners as a map). */
  async load(name: string, conf: Raw): Promise<void> {
    this.known(name);
    if (this.rawConfig(name) !== undefined) throw new GatewayError(400, `Gateway ${name} already loaded`);
    await this.write(name, conf);
  }

  /** Unloads a gateway: stops it and removes its config. */
  async unload(name: string): Promise<void> {
    this.loadedRaw(name);
    await this.write(name, undefined);
  }

  /** Enables or disables a loaded gateway. */
  async setEnable(name: string, enable: boolean): Promise<void> {
    const raw = this.loadedRaw(name);
    raw.enable = enable;
    await this.write(name, raw);
  }

  /** Shallow-merges top-level keys into a loaded gateway's config (listeners and authentication excluded). */
  async updateConf(name: string, patch: Raw): Promise<void> {
    const raw = this.loadedRaw(name);
    for (const [k, v] of Object.entries(patch)) {
      if (k === 'listeners' || k === 'authentication' || k === 'name') continue;
      raw[k] = v;
    }
    await this.write(name, raw);
  }

  /** A listener's raw config, or undefined. */
  rawListener(name: string, type: string, lname: string): Raw | undefined {
    const raw = this.loadedRaw(name);
    const l = ((raw.listeners as Raw | undefined)?.[type] as Raw | undefined)?.[lname];
    return l === undefined ? undefined : (l as Raw);
  }

  /** Creates or replaces a listener (file form). */
  async putListener(name: string, type: GatewayListenerType, lname: string, conf: Raw): Promise<void> {
    const m = this.known(name);
    if (!m.listenerTypes.includes(type))
      throw new GatewayError(400, `Listener type ${type} is not supported by gateway ${name}`);
    const raw = this.loadedRaw(name);
    const listeners = (raw.listeners ??= {}) as Raw;
    const byName = (listeners[type] ??= {}) as Raw;
    byName[lname] = conf;
    await this.write(name, raw);
  }

  /** Removes a listener; false when there was none. */
  async removeListener(name: string, type: string, lname: string): Promise<boolean> {
    const raw = this.loadedRaw(name);
    const byName = (raw.listeners as Raw | undefined)?.[type] as Raw | undefined;
    if (byName?.[lname] === undefined) return false;
    delete byName[lname];
    await this.write(name, raw);
    return true;
  }

  /** Sets (object) or removes (undefined) the gateway's or a listener's authenticator config. */
  async setAuthentication(
    name: string,
    listener: [string, string] | undefined,
    conf: Raw | undefined,
  ): Promise<void> {
    const raw = this.loadedRaw(name);
    let target: Raw = raw;
    if (listener !== undefined) {
      const l = ((raw.listeners as Raw | undefined)?.[listener[0]] as Raw | undefined)?.[listener[1]] as
        | Raw
        | undefined;
      if (l === undefined) throw new GatewayError(404, 'Listener not found');
      target = l;
    }
    if (conf === undefined) delete target.authentication;
    else target.authentication = conf;
    await this.write(name, raw);
  }
}

function sameConfig(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, infinityAware) === JSON.stringify(b, infinityAware);
}
