/**
 * lua_hook: hook functions written in Lua (EMQX 4.x's emqx_lua_hook), run in Lua 5.4 compiled to
 * WebAssembly (wasmoon, bundled in this package). Scripts come from a directory; `hermod ctl luahook …`
 * loads, unloads, reloads, enables and disables them one by one. Built only on the plugin API.
 */
import { isAbsolute, resolve } from 'node:path';
import { ScriptSet, scriptName } from './scripts.js';
import { luaRuntime } from './vm.js';

const DEFAULTS = { script_dir: '', instruction_budget: 1_000_000 };

/** The config with defaults; throws naming the bad key. */
function normalizeConfig(raw) {
  const conf = { ...DEFAULTS, ...raw };
  if (typeof conf.script_dir !== 'string') throw new Error('script_dir: must be a string');
  const b = conf.instruction_budget;
  if (!Number.isInteger(b) || b < 1000)
    throw new Error('instruction_budget: must be an integer of at least 1000');
  return conf;
}

/** `script_dir`, or <node.data_dir>/scripts as EMQX 4.x. */
function scriptDir(api, conf) {
  if (conf.script_dir === '') return resolve(api.node.dataDir, 'scripts');
  return isAbsolute(conf.script_dir) ? conf.script_dir : resolve(conf.script_dir);
}

let api;
let scripts;

async function open(conf) {
  const rt = await luaRuntime();
  const set = new ScriptSet(api, rt, scriptDir(api, conf), conf.instruction_budget);
  set.loadAll();
  return set;
}

const USAGE = [
  'luahook load <Script>      # Load a lua script into hooks',
  'luahook unload <Script>    # Unload a lua script from hooks',
  'luahook reload <Script>    # Reload a lua script into hooks',
  'luahook enable <Script>    # Enable a lua script (NAME.lua.x → NAME.lua) and load it',
  'luahook disable <Script>   # Unload a lua script and disable it (NAME.lua → NAME.lua.x)',
  'luahook list               # Loaded scripts, their hooks and failures',
];

function ctl(args) {
  const [verb, arg] = args;
  if (verb === 'list' && arg === undefined)
    return scripts
      .list()
      .map(
        (s) =>
          `${s.script}: ${s.hooks.join(', ') || '(no hooks)'}; errors ${s.errors}, budget exceeded ${s.budget_exceeded}`,
      );
  if (
    arg === undefined ||
    args.length !== 2 ||
    !['load', 'unload', 'reload', 'enable', 'disable'].includes(verb)
  )
    throw new Error(`usage:\n${USAGE.join('\n')}`);
  const name = scriptName(arg);
  const hooks = scripts[verb](name);
  const did = {
    load: 'Loaded',
    unload: 'Unloaded',
    reload: 'Reloaded',
    enable: 'Enabled',
    disable: 'Disabled',
  }[verb];
  return Array.isArray(hooks)
    ? `${did} ${name}.lua (hooks: ${hooks.join(', ') || 'none'})`
    : `${did} ${name}.lua`;
}

export default {
  async start(a) {
    api = a;
    const conf = normalizeConfig(a.config());
    scripts = await open(conf);
    a.ctl('luahook', { usage: USAGE, run: ctl });
    a.log.info({ dir: scripts.dir, scripts: scripts.list().length }, 'lua hook: scripts loaded');
  },
  stop() {
    scripts?.unloadAll();
    scripts = undefined;
    api = undefined;
  },
  async onConfigChanged(_old, next) {
    const conf = normalizeConfig(next);
    if (scripts === undefined) return;
    // Running: the scripts are loaded again from the (maybe new) directory with the new budget.
    const fresh = await open(conf);
    scripts.unloadAll();
    scripts = fresh;
  },
  healthCheck() {
    return undefined;
  },
};
