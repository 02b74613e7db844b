/**
 * The plugin manager, a node component: installs packages into `plugins.install_dir`, keeps
 * `plugins.states` (the start order, also the hook order at equal priority), starts and stops plugins in
 * that order, moves them, changes their config and uninstalls them. Plugins run in the broker's process.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Position, parsePosition, placeAt } from '../config/position.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ConfigService, RootKey } from '../config/service.js';
import { logger } from '../log.js';
import { VERSION } from '../version.js';
import {
  type HermodPlugin,
  matchRoute,
  type PluginControl,
  type PluginCtlCommand,
  type PluginHost,
  type PluginHttpRequest,
  type PluginHttpResponse,
  PluginScope,
  splitPath,
} from './api.js';
import { PluginConfigFile } from './config-file.js';
import { type JsonSchema, schemaError } from './config-schema.js';
import { badInfo, notFound, PluginError } from './errors.js';
import { type ReleaseInfo, readInstalled, splitNameVsn, unpackPackage } from './package.js';
import { placeShipped, shippedDirOf } from './shipped.js';

export type RunningStatus = 'running' | 'stopped';

/** One entry of plugins.states. */
export interface PluginState {
  name_vsn: string;
  enable: boolean;
}

interface Installed {
  name: string;
  nameVsn: string;
  dir: string;
  info: ReleaseInfo;
  module: HermodPlugin | undefined;
  scope: PluginScope | undefined;
  stats: { errors: number; slow: number };
}

export { type Position, parsePosition };

/**
 * A plugin change made through the API on this node (install by upload, start, stop, move, uninstall):
 * what the cluster's config log replays on every other node (PluginManager.applyReplicated).
 */
export type PluginChange =
  | { op: 'install'; nameVsn: string; data: Buffer }
  | { op: 'start' | 'stop' | 'uninstall'; nameVsn: string }
  | { op: 'move'; nameVsn: string; position: string };

export type PluginChangeListener = (change: PluginChange) => void | Promise<void>;

/** The node parts the manager needs. */
export interface PluginManagerEnv extends Omit<PluginHost, 'facts' | 'slowThresholdMs' | 'control'> {
  readonly configService: ConfigService;
}

let loadSeq = 0;

export class PluginManager {
  readonly name = 'plugins';
  private readonly installed = new Map<string, Installed>();
  /** NAME-VSN allowed for an API upload by `hermod ctl plugins allow`; forgotten on uninstall. */
  private readonly allowed = new Set<string>();
  /** Operations run one at a time, so states and the disk never see two changes interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changeListeners = new Set<PluginChangeListener>();

  constructor(private readonly env: PluginManagerEnv) {}

  /**
   * Follows plugin changes made through the API on this node; told after the change took effect here and
   * outside the manager's queue, and the API call waits for it. Returns an unsubscribe function.
   */
  onChanged(listener: PluginChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private async changed(change: PluginChange): Promise<void> {
    for (const l of this.changeListeners) await l(change);
  }

  /**
   * Repeats a change made on another node (the cluster's config log), without telling the change
   * listeners. Converges: installing what is installed, starting what runs, removing what is gone do nothing.
   */
  applyReplicated(change: PluginChange): Promise<void> {
    return this.serial(async () => {
      const { nameVsn } = change;
      if (change.op === 'install') {
        if (this.byNameVsn(nameVsn) === undefined) await this.installData(nameVsn, change.data);
      } else if (change.op === 'start') await this.doStartAndEnable(nameVsn);
      else if (change.op === 'stop') await this.doStopAndDisable(nameVsn);
      else if (change.op === 'move') await this.doMove(nameVsn, change.position);
      else if (this.byNameVsn(nameVsn) !== undefined) await this.doUninstall(nameVsn, true);
    });
  }

  private get config(): HermodConfig {
    return this.env.configService.config;
  }

  /** The directory packages are installed to. */
  get installDir(): string {
    const dir = this.config.plugins.install_dir;
    const dataDir = this.config.node.data_dir;
    if (dir === '') return resolve(dataDir, 'plugins');
    return isAbsolute(dir) ? dir : resolve(dir);
  }

  /** plugins.states as configured now. */
  get states(): PluginState[] {
    return this.config.plugins.states.map((s) => ({ name_vsn: s.name_vsn, enable: s.enable }));
  }

  /** Where reload() copies a package before importing it again (see reload). */
  private get reloadDir(): string {
    return resolve(this.config.node.data_dir, 'plugin_reloads');
  }

  /** What plugins see of the other plugins (PluginApi.plugins). */
  private readonly control: PluginControl = {
    list: () =>
      this.ordered().map((p) => ({
        name: p.name,
        nameVsn: p.nameVsn,
        dir: p.dir,
        running: p.scope !== undefined,
      })),
    reload: (name) => this.reload(name),
  };

  /**
   * Boot, before the listeners: unpacks and loads the packages plugins.states enables and starts them in that
   * order. The other installed packages are loaded by loadOthers(), once the listeners are open.
   */
  async start(): Promise<void> {
    mkdirSync(this.installDir, { recursive: true });
    rmSync(this.reloadDir, { recursive: true, force: true });
    const shipped = shippedDirOf(this.config.plugins.shipped_dir);
    if (shipped !== undefined)
      await placeShipped(shipped, this.installDir, this.config.plugins.max_unpacked_size);
    for (const s of this.states) {
      if (!s.enable) continue;
      try {
        await this.load(s.name_vsn);
      } catch (err) {
        logger.error({ err, plugin: s.name_vsn }, 'plugin: cannot load at boot');
      }
    }
    for (const s of this.states) {
      if (!s.enable || this.byNameVsn(s.name_vsn) === undefined) continue;
      await this.startPlugin(s.name_vsn).catch((err) =>
        logger.error({ err, plugin: s.name_vsn }, 'plugin: cannot start at boot'),
      );
    }
  }

  /**
   * Boot, after the listeners opened: loads the installed packages that do not run (disabled in
   * plugins.states, or not named there), so the API and `hermod ctl plugins list` show them. Clients are not
   * kept waiting for these imports: the five packages shipped with Hermod, none enabled by default, took ~90 ms
   * of the time from `npm start` to the first CONNACK (2026-12-04). A package whose name is already loaded
   * (another version enabled) is left alone.
   */
  loadOthers(): Promise<void> {
    return this.serial(async () => {
      for (const s of this.states) {
        const id = splitNameVsn(s.name_vsn);
        if (s.enable || (id !== undefined && this.installed.has(id.name))) continue;
        try {
          await this.load(s.name_vsn);
        } catch (err) {
          logger.error({ err, plugin: s.name_vsn }, 'plugin: cannot load at boot');
        }
      }
      for (const entry of readdirSync(this.installDir, { withFileTypes: true })) {
        const id = splitNameVsn(entry.name);
        if (!entry.isDirectory() || id === undefined || this.installed.has(id.name)) continue;
        if (!existsSync(join(this.installDir, entry.name, 'release.json'))) continue;
        await this.load(entry.name).catch((err) =>
          logger.error({ err, plugin: entry.name }, 'plugin: cannot load at boot'),
        );
      }
    });
  }

  /** Node stop: stops every running plugin, last started first; plugins.states is left as it is. */
  async stop(): Promise<void> {
    const order = this.ordered().reverse();
    for (const p of order) await this.stopPlugin(p).catch(() => undefined);
  }

  // ------------------------------------------------------------------ queries

  /** Installed plugins: those in plugins.states in their order, then the unconfigured ones. */
  list(): Array<Record<string, unknown>> {
    return this.ordered().map((p) => this.describeOf(p, false));
  }

  /** One plugin with its README. */
  describe(nameVsn: string): Record<string, unknown> {
    return this.describeOf(this.must(nameVsn), true);
  }

  /** Whether NAME-VSN is running on this node. */
  status(nameVsn: string): RunningStatus {
    return this.must(nameVsn).scope !== undefined ? 'running' : 'stopped';
  }

  private describeOf(p: Installed, readme: boolean): Record<string, unknown> {
    const state = this.states.find((s) => s.name_vsn === p.nameVsn);
    const out: Record<string, unknown> = {
      ...p.info,
      name: p.info.name,
      rel_vsn: p.info.rel_vsn,
      running_status: [
        { node: this.config.node.name, status: p.scope !== undefined ? 'running' : 'stopped' },
      ],
      config_status: state === undefined ? 'not_configured' : state.enable ? 'enabled' : 'disabled',
      callback_errors: p.stats.errors,
      slow_callbacks: p.stats.slow,
    };
    if (readme) {
      const path = join(p.dir, 'README.md');
      out.readme = existsSync(path) ? readFileSync(path, 'utf8') : '';
    }
    return out;
  }

  private ordered(): Installed[] {
    const out: Installed[] = [];
    for (const s of this.states) {
      const p = this.byNameVsn(s.name_vsn);
      if (p !== undefined) out.push(p);
    }
    for (const p of this.installed.values()) if (!out.includes(p)) out.push(p);
    return out;
  }

  private byNameVsn(nameVsn: string): Installed | undefined {
    const id = splitNameVsn(nameVsn);
    const p = id === undefined ? undefined : this.installed.get(id.name);
    return p?.nameVsn === nameVsn ? p : undefined;
  }

  private must(nameVsn: string): Installed {
    const p = this.byNameVsn(nameVsn);
    if (p === undefined) throw notFound(nameVsn);
    return p;
  }

  // ------------------------------------------------------------------ install

  /** Allows (or no longer allows) an API upload of NAME-VSN. */
  allow(nameVsn: string, yes = true): void {
    if (splitNameVsn(nameVsn) === undefined) throw badInfo(`bad plugin name ${nameVsn}`);
    if (yes) this.allowed.add(nameVsn);
    else this.allowed.delete(nameVsn);
  }

  /**
   * Installs an uploaded package (API): needs a prior allow. A different version of an installed plugin
   * replaces it (upgrade: the config and the place in plugins.states are kept, a running plugin runs again).
   */
  async installUpload(filename: string, data: Buffer): Promise<void> {
    const nameVsn = nameVsnOfFile(filename);
    await this.serial(async () => {
      if (!this.allowed.has(nameVsn))
        throw new PluginError(
          'FORBIDDEN',
          `Package ${nameVsn} is not allowed; run "hermod ctl plugins allow ${nameVsn}" on the node first`,
          403,
        );
      if (this.byNameVsn(nameVsn) !== undefined)
        throw new PluginError('ALREADY_INSTALLED', `${nameVsn} is already installed`);
      await this.installData(nameVsn, data);
    });
    await this.changed({ op: 'install', nameVsn, data });
  }

  /** Writes the package into install_dir and installs it (nothing left behind when that fails). */
  private async installData(nameVsn: string, data: Buffer): Promise<void> {
    mkdirSync(this.installDir, { recursive: true });
    const tarball = join(this.installDir, `${nameVsn}.tar.gz`);
    writeFileSync(tarball, data);
    try {
      await this.installFrom(nameVsn);
    } catch (err) {
      rmSync(tarball, { force: true });
      rmSync(`${tarball}.md5sum`, { force: true });
      throw err;
    }
  }

  /** Installs `install_dir/NAME-VSN.tar.gz` placed there by hand (`hermod ctl plugins install`). */
  installPlaced(nameVsn: string): Promise<void> {
    return this.serial(async () => {
      if (splitNameVsn(nameVsn) === undefined) throw badInfo(`bad plugin name ${nameVsn}`);
      if (this.byNameVsn(nameVsn) !== undefined)
        throw new PluginError('ALREADY_INSTALLED', `${nameVsn} is already installed`);
      if (!existsSync(join(this.installDir, `${nameVsn}.tar.gz`)))
        throw badInfo(`${nameVsn}.tar.gz is not in ${this.installDir}`);
      await this.installFrom(nameVsn);
    });
  }

  private async installFrom(nameVsn: string): Promise<void> {
    const { name } = splitNameVsn(nameVsn)!;
    const old = this.installed.get(name);
    const tarball = join(this.installDir, `${nameVsn}.tar.gz`);
    await unpackPackage(tarball, this.installDir, nameVsn, this.config.plugins.max_unpacked_size);
    let mod: HermodPlugin;
    try {
      mod = await importEntry(join(this.installDir, nameVsn), readInstalled(this.installDir, nameVsn));
    } catch (err) {
      rmSync(join(this.installDir, nameVsn), { recursive: true, force: true });
      throw err;
    }
    if (old === undefined) {
      this.register(nameVsn, mod);
      const state = this.states.find((s) => s.name_vsn === nameVsn);
      if (state?.enable) await this.startPlugin(nameVsn);
      return;
    }
    // Upgrade: the new version takes the old one's place in the order, with its state.
    const wasRunning = old.scope !== undefined;
    await this.stopPlugin(old);
    this.removeFiles(old.nameVsn);
    this.installed.delete(name);
    this.register(nameVsn, mod);
    const states = this.states.map((s) => (s.name_vsn === old.nameVsn ? { ...s, name_vsn: nameVsn } : s));
    await this.saveStates(states);
    if (wasRunning) await this.startPlugin(nameVsn);
  }

  /** Loads an unpacked package (or unpacks a tarball found in install_dir) at boot. */
  private async load(nameVsn: string): Promise<void> {
    const id = splitNameVsn(nameVsn);
    if (id === undefined) throw badInfo(`bad plugin name ${nameVsn}`);
    if (!existsSync(join(this.installDir, nameVsn, 'release.json'))) {
      if (!existsSync(join(this.installDir, `${nameVsn}.tar.gz`))) throw notFound(nameVsn);
      await unpackPackage(
        join(this.installDir, `${nameVsn}.tar.gz`),
        this.installDir,
        nameVsn,
        this.config.plugins.max_unpacked_size,
      );
    }
    const dir = join(this.installDir, nameVsn);
    this.register(nameVsn, await importEntry(dir, readInstalled(this.installDir, nameVsn)));
  }

  private register(nameVsn: string, mod: HermodPlugin): void {
    const { name } = splitNameVsn(nameVsn)!;
    const dir = join(this.installDir, nameVsn);
    const info = readInstalled(this.installDir, nameVsn);
    this.configFile(name).seed(join(dir, 'priv', 'config.hocon'));
    this.installed.set(name, {
      name,
      nameVsn,
      dir,
      info,
      module: mod,
      scope: undefined,
      stats: { errors: 0, slow: 0 },
    });
  }

  // ------------------------------------------------------------------ lifecycle

  /** API start: start and enable. */
  async startAndEnable(nameVsn: string): Promise<void> {
    await this.serial(() => this.doStartAndEnable(nameVsn));
    await this.changed({ op: 'start', nameVsn });
  }

  private async doStartAndEnable(nameVsn: string): Promise<void> {
    this.must(nameVsn);
    await this.startPlugin(nameVsn);
    await this.setEnabled(nameVsn, true);
  }

  /** API stop: stop and disable. */
  async stopAndDisable(nameVsn: string): Promise<void> {
    await this.serial(() => this.doStopAndDisable(nameVsn));
    await this.changed({ op: 'stop', nameVsn });
  }

  private async doStopAndDisable(nameVsn: string): Promise<void> {
    await this.stopPlugin(this.must(nameVsn));
    await this.setEnabled(nameVsn, false);
  }

  /** CLI start / stop / restart: the running state only. */
  run(nameVsn: string, action: 'start' | 'stop' | 'restart'): Promise<void> {
    return this.serial(async () => {
      const p = this.must(nameVsn);
      if (action !== 'start') await this.stopPlugin(p);
      if (action !== 'stop') await this.startPlugin(nameVsn);
    });
  }

  /**
   * Loads a plugin's package files again and restarts it if it ran. ESM caches modules by URL, so the
   * package is copied to a new directory first: every file of it, not only the entry, is read afresh.
   * Each reload keeps the old module instances in memory; it is a development tool.
   */
  reload(nameOrVsn: string): Promise<void> {
    return this.serial(async () => {
      const p = this.installed.get(nameOrVsn) ?? this.byNameVsn(nameOrVsn);
      if (p === undefined) throw notFound(nameOrVsn);
      const copy = join(this.reloadDir, `${p.nameVsn}.${++loadSeq}`);
      mkdirSync(this.reloadDir, { recursive: true });
      cpSync(p.dir, copy, { recursive: true });
      let mod: HermodPlugin;
      try {
        mod = await importEntry(copy, readInstalled(this.installDir, p.nameVsn));
      } catch (err) {
        rmSync(copy, { recursive: true, force: true });
        throw err;
      }
      for (const old of readdirSync(this.reloadDir))
        if (old.startsWith(`${p.nameVsn}.`) && join(this.reloadDir, old) !== copy)
          rmSync(join(this.reloadDir, old), { recursive: true, force: true });
      const wasRunning = p.scope !== undefined;
      await this.stopPlugin(p);
      p.module = mod;
      p.info = readInstalled(this.installDir, p.nameVsn);
      if (wasRunning) await this.startPlugin(p.nameVsn);
      logger.info({ plugin: p.nameVsn }, 'plugin reloaded from its files');
    });
  }

  /** CLI enable (optionally at a position) / disable. */
  enable(nameVsn: string, enable: boolean, position?: Position): Promise<void> {
    return this.serial(async () => {
      this.must(nameVsn);
      await this.setEnabled(nameVsn, enable, position);
    });
  }

  /** Moves a plugin in plugins.states; running plugins' hooks are re-sorted at once. */
  async move(nameVsn: string, positionText: string): Promise<void> {
    await this.serial(() => this.doMove(nameVsn, positionText));
    await this.changed({ op: 'move', nameVsn, position: positionText });
  }

  private async doMove(nameVsn: string, positionText: string): Promise<void> {
    this.must(nameVsn);
    const position = parsePosition(positionText);
    if (position === undefined) throw new PluginError('BAD_POSITION', `Invalid position: ${positionText}`);
    if ('other' in position && position.other === nameVsn)
      throw new PluginError('BAD_POSITION', `Cannot place ${nameVsn} ${position.at} itself`);
    const states = this.states;
    const i = states.findIndex((s) => s.name_vsn === nameVsn);
    const entry = i >= 0 ? states.splice(i, 1)[0]! : { name_vsn: nameVsn, enable: false };
    const placed = place(states, entry, position);
    if (placed === undefined)
      throw new PluginError('MOVE_FAILED', `${(position as { other: string }).other} is not configured`);
    await this.saveStates(placed);
  }

  /**
   * Uninstall. From the API (force): stop → disable → remove. From the CLI the plugin must already be
   * stopped and disabled, as in EMQX.
   */
  async uninstall(nameVsn: string, force: boolean): Promise<void> {
    await this.serial(() => this.doUninstall(nameVsn, force));
    // Only the API's uninstall (force) is cluster-wide; the CLI's acts on this node, as its install does.
    if (force) await this.changed({ op: 'uninstall', nameVsn });
  }

  private async doUninstall(nameVsn: string, force: boolean): Promise<void> {
    const p = this.byNameVsn(nameVsn);
    // EMQX answers 400 PARAM_ERROR for anything it cannot uninstall, an unknown plugin included.
    if (p === undefined) throw new PluginError('PARAM_ERROR', `plugin_not_found: ${nameVsn}`);
    if (!force) {
      if (p.scope !== undefined) throw new PluginError('PARAM_ERROR', 'stop_the_plugin_first');
      if (this.states.some((s) => s.name_vsn === nameVsn && s.enable))
        throw new PluginError('PARAM_ERROR', 'disable_the_plugin_first');
    }
    await this.stopPlugin(p);
    await this.saveStates(this.states.filter((s) => s.name_vsn !== nameVsn));
    this.installed.delete(p.name);
    this.removeFiles(nameVsn);
    this.allowed.delete(nameVsn);
  }

  private removeFiles(nameVsn: string): void {
    rmSync(join(this.installDir, nameVsn), { recursive: true, force: true });
    rmSync(join(this.installDir, `${nameVsn}.tar.gz`), { force: true });
    rmSync(join(this.installDir, `${nameVsn}.tar.gz.md5sum`), { force: true });
  }

  private async startPlugin(nameVsn: string): Promise<void> {
    const p = this.must(nameVsn);
    if (p.scope !== undefined) return;
    const mod = p.module!;
    const host: PluginHost = {
      hooks: this.env.hooks,
      broker: this.env.broker,
      authn: this.env.authn,
      authz: this.env.authz,
      facts: {
        name: this.config.node.name,
        version: VERSION,
        dataDir: this.config.node.data_dir,
        profile: this.config.node.profile,
      },
      control: this.control,
      slowThresholdMs: () => this.config.plugins.slow_hook_threshold,
    };
    const scope = new PluginScope(host, p.name, nameVsn, p.dir, this.readConfig(p), p.stats);
    try {
      await mod.start(scope.api);
    } catch (err) {
      scope.dispose();
      try {
        await mod.stop?.();
      } catch {
        // The start failure is what the user needs to see.
      }
      scope.log.error({ err }, 'plugin failed to start');
      throw new PluginError('START_FAILED', `${nameVsn} failed to start: ${(err as Error).message}`);
    }
    p.scope = scope;
    scope.log.info('plugin started');
    this.rehookAll();
  }

  private async stopPlugin(p: Installed): Promise<void> {
    const scope = p.scope;
    if (scope === undefined) return;
    p.scope = undefined;
    try {
      await p.module?.stop?.();
    } catch (err) {
      p.stats.errors++;
      scope.log.error({ err }, 'plugin stop() failed');
    } finally {
      scope.dispose();
    }
    scope.log.info('plugin stopped');
  }

  /** Registers running plugins' hooks again in plugins.states order (ties in priority run in that order). */
  private rehookAll(): void {
    for (const p of this.ordered()) p.scope?.rehook();
  }

  private async setEnabled(nameVsn: string, enable: boolean, position?: Position): Promise<void> {
    const states = this.states;
    const i = states.findIndex((s) => s.name_vsn === nameVsn);
    if (i >= 0 && position === undefined) {
      states[i] = { name_vsn: nameVsn, enable };
      await this.saveStates(states);
      return;
    }
    if (i >= 0) states.splice(i, 1);
    const placed = place(states, { name_vsn: nameVsn, enable }, position ?? { at: 'rear' });
    if (placed === undefined)
      throw new PluginError('MOVE_FAILED', 'the plugin to place it next to is not configured');
    await this.saveStates(placed);
  }

  private async saveStates(states: PluginState[]): Promise<void> {
    const raw = this.env.configService.getRaw('plugins' as RootKey) as Record<string, unknown>;
    await this.env.configService.update('plugins' as RootKey, { ...raw, states });
    this.rehookAll();
  }

  // ------------------------------------------------------------------ config and health

  private configFile(name: string): PluginConfigFile {
    return new PluginConfigFile(this.config.node.data_dir, name);
  }

  private readConfig(p: Installed): Record<string, unknown> {
    try {
      return this.configFile(p.name).read() ?? {};
    } catch (err) {
      logger.error({ err, plugin: p.name }, 'plugin: config.hocon is not readable; using an empty config');
      return {};
    }
  }

  /** The plugin's runtime config; BAD_CONFIG when it has none. */
  getConfig(nameVsn: string): Record<string, unknown> {
    const p = this.must(nameVsn);
    const c = this.configFile(p.name).read();
    if (c === undefined) throw new PluginError('BAD_CONFIG', 'Plugin Config Not Found');
    return c;
  }

  /** The package's config schema and i18n hints (null when absent). */
  schema(nameVsn: string): { avsc: unknown; i18n: unknown } {
    const p = this.must(nameVsn);
    const read = (f: string) => {
      const path = join(p.dir, 'priv', f);
      return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : null;
    };
    return { avsc: read('config_schema.json'), i18n: read('config_i18n.json') };
  }

  /** Validates and applies a new config: the schema, then the plugin's onConfigChanged (which may refuse). */
  putConfig(nameVsn: string, next: Record<string, unknown>): Promise<void> {
    return this.serial(async () => {
      const p = this.must(nameVsn);
      const schema = this.schema(nameVsn).avsc as JsonSchema | null;
      if (schema !== null) {
        const why = schemaError(schema, next);
        if (why !== undefined) throw new PluginError('BAD_CONFIG', why);
      }
      const old = this.readConfig(p);
      try {
        await p.module?.onConfigChanged?.(old, structuredClone(next));
      } catch (err) {
        throw new PluginError('BAD_CONFIG', `refused by the plugin: ${(err as Error).message}`);
      }
      this.configFile(p.name).write(next);
      p.scope?.setConfig(next);
    });
  }

  /** Runs the plugin's health check: undefined when healthy, else the reason. */
  async health(nameVsn: string): Promise<string | undefined> {
    const p = this.must(nameVsn);
    if (p.scope === undefined) return 'not running';
    try {
      const r = await p.module?.healthCheck?.();
      return typeof r === 'string' && r !== '' ? r : undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  // ------------------------------------------------------------------ routes, ctl, metrics

  /** Runs a plugin's HTTP route; undefined when no route matches. */
  async route(
    plugin: string,
    req: Omit<PluginHttpRequest, 'params'>,
  ): Promise<PluginHttpResponse | undefined> {
    const scope = this.installed.get(plugin)?.scope;
    if (scope === undefined) return undefined;
    const segs = splitPath(req.path);
    for (const r of scope.routes) {
      const params = matchRoute(r, req.method, segs);
      if (params === undefined) continue;
      try {
        return await r.handler({ ...req, params });
      } catch (err) {
        // A failing route is the plugin's failure: counted like its callbacks, answered as a 500.
        this.installed.get(plugin)!.stats.errors++;
        scope.log.error({ err, route: req.path }, 'plugin route failed');
        throw new PluginError('INTERNAL_ERROR', `plugin ${plugin} failed: ${(err as Error).message}`, 500);
      }
    }
    return undefined;
  }

  /** Ctl commands of running plugins by name. */
  ctlCommands(): Map<string, PluginCtlCommand> {
    const out = new Map<string, PluginCtlCommand>();
    for (const p of this.ordered())
      for (const [k, c] of p.scope?.ctlCommands ?? []) if (!out.has(k)) out.set(k, c);
    return out;
  }

  /** Plugin counters and error/slow counts in the Prometheus text format. */
  prometheusLines(): string[] {
    const lines: string[] = [];
    const esc = (s: string) => s.replace(/[\\"\n]/g, '_');
    const put = (metric: string, plugin: string, v: number) =>
      lines.push(`hermod_plugin_${metric.replace(/[^a-zA-Z0-9_]/g, '_')}{plugin="${esc(plugin)}"} ${v}`);
    for (const p of this.ordered()) {
      put('callback_errors', p.name, p.stats.errors);
      put('slow_callbacks', p.name, p.stats.slow);
      for (const [k, v] of p.scope?.counters ?? []) put(k, p.name, v);
    }
    return lines;
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** NAME-VSN of an uploaded file name (`NAME-VSN.tar.gz`). */
function nameVsnOfFile(filename: string): string {
  const base = filename.replace(/^.*[\\/]/, '');
  const m = /^(.+)\.tar\.gz$/.exec(base);
  if (m === null || splitNameVsn(m[1]!) === undefined)
    throw badInfo(`bad package file name ${filename}: expected NAME-VSN.tar.gz`);
  return m[1]!;
}

/** Imports a package's entry and checks it exports start(). Each load is a fresh module instance. */
async function importEntry(dir: string, info: ReleaseInfo): Promise<HermodPlugin> {
  const url = `${pathToFileURL(join(dir, info.entry)).href}?load=${++loadSeq}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw badInfo(`bad_entry: ${info.entry} failed to load: ${(err as Error).message}`);
  }
  const plugin = (
    mod.default !== undefined && typeof mod.default === 'object' ? mod.default : mod
  ) as HermodPlugin;
  if (typeof plugin.start !== 'function') throw badInfo(`bad_entry: ${info.entry} exports no start(api)`);
  return plugin;
}

/** The list with `entry` inserted at `position`; undefined when the plugin to place it next to is absent. */
function place(list: PluginState[], entry: PluginState, position: Position): PluginState[] | undefined {
  return placeAt(list, entry, position, (s) => s.name_vsn);
}
