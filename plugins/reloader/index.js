/**
 * reloader (EMQX's emqx_reloader), for plugin developers: watches the directory each installed plugin is
 * loaded from and, when a file in it changes, loads the plugin again from its files and restarts it if it
 * ran. `hermod ctl reload NAME` does the same on demand. Every reload keeps the replaced code in memory, so
 * the plugin refuses to start unless `node.profile` is dev or its `force` is set. Built only on the
 * plugin API (api.plugins).
 */
import { watch } from 'node:fs';

const DEFAULTS = { plugins: [], debounce_ms: 300, force: false };
/** How often the list of installed plugins is read again (installs, upgrades, uninstalls). */
const RESCAN_MS = 2000;

function normalizeConfig(raw) {
  const conf = { ...DEFAULTS, ...raw };
  if (!Array.isArray(conf.plugins) || !conf.plugins.every((p) => typeof p === 'string' && p !== ''))
    throw new Error('plugins: must be a list of plugin names');
  if (!Number.isInteger(conf.debounce_ms) || conf.debounce_ms < 0)
    throw new Error('debounce_ms: must be an integer of at least 0');
  if (typeof conf.force !== 'boolean') throw new Error('force: must be true or false');
  return conf;
}

let api;
let conf;
/** Plugin name → { dir, watcher, cancelPending } for every watched plugin. */
const watched = new Map();

function wanted(p) {
  return p.name !== api.name && (conf.plugins.length === 0 || conf.plugins.includes(p.name));
}

async function reload(name, why) {
  try {
    await api.plugins.reload(name);
    api.metrics.inc('reloads');
    api.log.info({ target: name, why }, 'reloader: plugin reloaded');
  } catch (err) {
    api.metrics.inc('reload_failures');
    api.log.error({ target: name, why, err: err.message }, 'reloader: reload failed');
    throw err;
  }
}

function unwatch(name) {
  const w = watched.get(name);
  if (w === undefined) return;
  w.watcher.close();
  w.cancelPending?.();
  watched.delete(name);
}

/** Watches the plugins wanted now; stops watching removed ones and those whose directory changed. */
function rescan() {
  const now = new Map(
    api.plugins
      .list()
      .filter(wanted)
      .map((p) => [p.name, p]),
  );
  for (const [name, w] of watched) if (now.get(name)?.dir !== w.dir) unwatch(name);
  for (const [name, p] of now) {
    if (watched.has(name)) continue;
    const w = { dir: p.dir, watcher: undefined, cancelPending: undefined };
    w.watcher = watch(p.dir, { recursive: true }, (_event, file) => {
      w.cancelPending?.();
      w.cancelPending = api.setTimeout(() => {
        w.cancelPending = undefined;
        reload(name, `changed: ${file}`).catch(() => undefined);
      }, conf.debounce_ms);
    });
    w.watcher.on('error', (err) =>
      api.log.warn({ target: name, err: err.message }, 'reloader: watch failed'),
    );
    watched.set(name, w);
  }
}

const USAGE = ['reload <Plugin>    # Load a plugin again from its files and restart it'];

export default {
  start(a) {
    const c = normalizeConfig(a.config());
    if (a.node.profile !== 'dev' && !c.force)
      throw new Error(
        `not for production: node.profile is ${a.node.profile}; set node.profile = dev, or the reloader's force = true`,
      );
    api = a;
    conf = c;
    rescan();
    a.setInterval(rescan, RESCAN_MS);
    a.ctl('reload', {
      usage: USAGE,
      run: async (args) => {
        if (args.length !== 1) throw new Error(`usage: ${USAGE[0]}`);
        await reload(args[0], 'hermod ctl reload');
        return `Reloaded ${args[0]}`;
      },
    });
    a.log.warn({ watching: [...watched.keys()] }, 'reloader: watching plugin files (development only)');
  },
  stop() {
    for (const name of [...watched.keys()]) unwatch(name);
    api = undefined;
  },
  onConfigChanged(_old, next) {
    const c = normalizeConfig(next);
    if (api === undefined) return;
    conf = c;
    for (const name of [...watched.keys()]) unwatch(name);
    rescan();
  },
  healthCheck() {
    return undefined;
  },
};
