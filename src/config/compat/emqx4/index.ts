/**
 * `hermod migrate emqx4 DIR`: an EMQX 3.x/4.x `etc/` directory (emqx.conf, plugins/*.conf, loaded_plugins)
 * turned into one Hermod config, with a report line per 4.x key: mapped (same key), renamed (carried to
 * another key), unsupported (with the reason) or skipped (its plugin is not loaded).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AUTH_PLUGINS, PLUGIN_PREFIXES } from './auth-plugins.js';
import { type ConfEntry, parseLoadedPlugins, readConfFile } from './conf-file.js';
import { aclFileSource, mapEmqxConf } from './emqx-conf.js';
import { type ExtraFile, type JsonObject, Migration, type ReportLine } from './migration.js';
import { OTHER_PLUGINS, type PluginContext, UNSUPPORTED_PLUGINS } from './other-plugins.js';

export { ConfSyntaxError } from './conf-file.js';
export type { ExtraFile, ReportLine };

export interface MigrateOptions {
  /** The plugins to treat as loaded; default: those of loaded_plugins. */
  plugins?: string[];
  /** Gateways this Hermod has (a 4.x protocol plugin without one is unsupported). */
  gateways: readonly string[];
  /** NAME-VSN of the shipped web_hook plugin. */
  webHookNameVsn: string;
  /** NAME-VSN of the shipped lua_hook plugin (default lua_hook-1.0.0). */
  luaHookNameVsn?: string;
}

export interface MigrateResult {
  config: JsonObject;
  report: ReportLine[];
  files: ExtraFile[];
  /** The plugins treated as loaded, and where that list came from. */
  loaded: string[];
  loadedFrom: string;
}

/** Where 4.x keeps loaded_plugins: etc/ (3.x) or data/ next to it (4.x). */
function findLoadedPlugins(dir: string): string | undefined {
  for (const p of [join(dir, 'loaded_plugins'), join(dir, '..', 'data', 'loaded_plugins')])
    if (existsSync(p)) return p;
  return undefined;
}

/** Plugins 4.x loads when there is no loaded_plugins file. */
const DEFAULT_PLUGINS = [
  'emqx_management',
  'emqx_dashboard',
  'emqx_retainer',
  'emqx_recon',
  'emqx_rule_engine',
];

function readAll(dir: string): { entries: ConfEntry[]; pluginFiles: string[] } {
  const entries: ConfEntry[] = [];
  const main = join(dir, 'emqx.conf');
  if (!existsSync(main))
    throw new Error(`${main} not found: give the etc/ directory of an EMQX 3.x/4.x install`);
  entries.push(...readConfFile(main));
  const pluginFiles: string[] = [];
  for (const sub of ['plugins', 'emqx.d'])
    if (existsSync(join(dir, sub)))
      for (const f of readdirSync(join(dir, sub)).sort())
        if (f.endsWith('.conf')) {
          pluginFiles.push(basename(f, '.conf'));
          entries.push(...readConfFile(join(dir, sub, f)));
        }
  return { entries, pluginFiles };
}

export function migrateEmqx4(etcDir: string, opts: MigrateOptions): MigrateResult {
  const dir = resolve(etcDir);
  const { entries } = readAll(dir);
  const lpFile = findLoadedPlugins(dir);
  let loaded: string[];
  let loadedFrom: string;
  let lpText: string | undefined;
  if (opts.plugins !== undefined) {
    loaded = opts.plugins;
    loadedFrom = '--plugins';
  } else if (lpFile !== undefined) {
    lpText = readFileSync(lpFile, 'utf8');
    loaded = parseLoadedPlugins(lpText);
    loadedFrom = lpFile;
  } else {
    loaded = DEFAULT_PLUGINS;
    loadedFrom = "4.x's default plugins (no loaded_plugins file found; choose with --plugins)";
  }
  // emqx_mod_subscription is a module, configured in emqx.conf or emqx_modules.conf: always read.
  const active = new Set([...loaded, 'emqx_mod_subscription']);
  const m = new Migration(entries, dir);

  const authenticators: JsonObject[] = [];
  const sources: JsonObject[] = [];
  for (const plugin of loaded) {
    const map = AUTH_PLUGINS[plugin];
    if (map === undefined) continue;
    const out = map(m, plugin);
    if (out.authenticator !== undefined) authenticators.push(out.authenticator);
    if (out.source !== undefined) sources.push(out.source);
  }
  // Where a plugin is listed as loaded: its line of loaded_plugins, for report lines about the plugin itself.
  const loadedAt = (plugin: string): string => {
    if (lpText === undefined) return opts.plugins !== undefined ? '--plugins' : 'default plugins';
    const n = lpText.split(/\r?\n/).findIndex((l) => new RegExp(`\\b${plugin}\\b`).test(l));
    return `${basename(lpFile!)}${n < 0 ? '' : `:${n + 1}`}`;
  };
  const shipped: PluginContext['shipped'] = (name) =>
    name === 'web_hook' ? opts.webHookNameVsn : (opts.luaHookNameVsn ?? 'lua_hook-1.0.0');
  for (const [plugin, spec] of Object.entries(OTHER_PLUGINS)) {
    if (!active.has(plugin)) continue;
    if (spec.gateway !== undefined && !opts.gateways.includes(spec.gateway)) {
      for (const p of spec.prefixes) m.unsupportedAll(p, `this Hermod has no ${spec.gateway} gateway`);
      continue;
    }
    spec.map(m, { shipped, at: loadedAt(plugin) });
  }
  for (const [plugin, spec] of Object.entries(UNSUPPORTED_PLUGINS)) {
    if (!active.has(plugin)) continue;
    // A loaded plugin whose file sets nothing still gets its line: it did something in 4.x.
    if (spec.prefixes.every((p) => m.keysUnder(p).length === 0))
      m.plugin(plugin, loadedAt(plugin), 'unsupported', { reason: spec.reason });
    for (const p of spec.prefixes) m.unsupportedAll(p, spec.reason);
  }
  const notLoaded = (plugin: string) => `plugin ${plugin} is not loaded (${basename(loadedFrom)})`;
  for (const [plugin, prefixes] of Object.entries(PLUGIN_PREFIXES))
    if (!active.has(plugin)) for (const p of prefixes) m.skipAll(p, notLoaded(plugin));
  for (const [plugin, spec] of Object.entries({ ...OTHER_PLUGINS, ...UNSUPPORTED_PLUGINS }))
    if (!active.has(plugin)) for (const p of spec.prefixes) m.skipAll(p, notLoaded(plugin));

  mapEmqxConf(m, authenticators.length);
  if (authenticators.length > 0) m.set('authentication', authenticators);
  const file = aclFileSource(m);
  if (file !== undefined) sources.push(file);
  if (sources.length > 0) m.set('authorization.sources', sources);
  m.finish();
  return { config: m.config, report: m.report, files: m.files, loaded, loadedFrom };
}
