/**
 * The loaded scripts and the hooks they need. A Hermod hook is registered for a Lua function only while
 * at least one loaded script registered that function, so with no script (or none using a hook) the
 * broker's hot path does not see the plugin at all. Every hook callback is synchronous.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { LUA_HOOKS } from './hooks.js';
import { LuaState } from './vm.js';

const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `name`, `name.lua` → `name`; anything that could leave the script directory is refused. */
export function scriptName(arg) {
  const name = String(arg ?? '').replace(/\.lua$/, '');
  if (!SCRIPT_NAME.test(name) || name.includes('..')) throw new Error(`bad script name: ${arg}`);
  return name;
}

/** Logs at most once per 5 s per script, so a script failing on every message does not flood the log. */
const LOG_EVERY_MS = 5000;

export class ScriptSet {
  #api;
  #rt;
  #dir;
  #budget;
  /** name → { state, hooks: string[], errors, budgetExceeded, lastLog } in load order. */
  #scripts = new Map();
  /** Lua function name → { scripts: LuaState[], off } while registered. */
  #active = new Map();
  #call;

  constructor(api, rt, dir, budget) {
    this.#api = api;
    this.#rt = rt;
    this.#dir = dir;
    this.#budget = budget;
    this.#call = (state, fn, args) => this.#invoke(state, fn, args);
    mkdirSync(dir, { recursive: true });
  }

  get dir() {
    return this.#dir;
  }

  /** Loads every NAME.lua of the directory; a script that fails is logged and left out. */
  loadAll() {
    for (const f of readdirSync(this.#dir).sort()) {
      if (!f.endsWith('.lua')) continue;
      try {
        this.load(f.slice(0, -4));
      } catch (err) {
        this.#api.log.error({ script: f, err: err.message }, 'lua hook: script not loaded');
      }
    }
  }

  /** Loads NAME.lua: runs it, calls register_hook() and hooks what it names. Throws with the reason. */
  load(name) {
    if (this.#scripts.has(name)) throw new Error(`${name}.lua is already loaded; use reload`);
    const file = join(this.#dir, `${name}.lua`);
    if (!existsSync(file)) throw new Error(`${file} does not exist`);
    const state = new LuaState(this.#rt, `${name}.lua`, readFileSync(file, 'utf8'), this.#budget);
    let hooks;
    try {
      hooks = this.#registered(state);
    } catch (err) {
      state.close();
      throw err;
    }
    const entry = { state, hooks, errors: 0, budgetExceeded: 0, lastLog: 0 };
    state.entry = entry;
    this.#scripts.set(name, entry);
    for (const fn of hooks) this.#attach(fn, state);
    this.#api.metrics.set('scripts_loaded', this.#scripts.size);
    return hooks;
  }

  unload(name) {
    const entry = this.#scripts.get(name);
    if (entry === undefined) throw new Error(`${name}.lua is not loaded`);
    for (const fn of entry.hooks) this.#detach(fn, entry.state);
    this.#scripts.delete(name);
    entry.state.close();
    this.#api.metrics.set('scripts_loaded', this.#scripts.size);
  }

  reload(name) {
    if (this.#scripts.has(name)) this.unload(name);
    return this.load(name);
  }

  /** NAME.lua.x → NAME.lua, then load it. */
  enable(name) {
    const file = join(this.#dir, `${name}.lua`);
    if (existsSync(`${file}.x`)) renameSync(`${file}.x`, file);
    return this.reload(name);
  }

  /** Unloads NAME and renames it NAME.lua.x, so the next start leaves it out. */
  disable(name) {
    if (this.#scripts.has(name)) this.unload(name);
    const file = join(this.#dir, `${name}.lua`);
    if (!existsSync(file)) throw new Error(`${file} does not exist`);
    renameSync(file, `${file}.x`);
  }

  unloadAll() {
    for (const name of [...this.#scripts.keys()]) this.unload(name);
  }

  list() {
    return [...this.#scripts].map(([name, e]) => ({
      script: `${name}.lua`,
      hooks: e.hooks,
      errors: e.errors,
      budget_exceeded: e.budgetExceeded,
    }));
  }

  /** register_hook()'s results: the Lua function names to hook (unknown ones logged and skipped). */
  #registered(state) {
    if (!state.hasFunction('register_hook')) throw new Error(`${state.name} defines no register_hook()`);
    const names = [];
    for (const v of state.call('register_hook', [])) {
      const fn = Buffer.isBuffer(v) ? v.toString() : String(v);
      if (!(fn in LUA_HOOKS)) {
        this.#api.log.warn({ script: state.name, hook: fn }, 'lua hook: unknown hook name skipped');
        continue;
      }
      if (!state.hasFunction(fn)) throw new Error(`${state.name} registers ${fn} but does not define it`);
      if (!names.includes(fn)) names.push(fn);
    }
    return names;
  }

  #attach(fn, state) {
    let a = this.#active.get(fn);
    if (a === undefined) {
      const spec = LUA_HOOKS[fn];
      const scripts = [];
      const off = this.#api.hook(spec.point, spec.handler(scripts, this.#call), spec.priority);
      a = { scripts, off };
      this.#active.set(fn, a);
    }
    a.scripts.push(state);
  }

  #detach(fn, state) {
    const a = this.#active.get(fn);
    if (a === undefined) return;
    const i = a.scripts.indexOf(state);
    if (i >= 0) a.scripts.splice(i, 1);
    if (a.scripts.length === 0) {
      a.off();
      this.#active.delete(fn);
    }
  }

  /** One guarded call: a failure is counted (per script and in the plugin's metrics) and answers undefined. */
  #invoke(state, fn, args) {
    try {
      return state.call(fn, args);
    } catch (err) {
      const e = state.entry;
      e.errors++;
      this.#api.metrics.inc('errors');
      if (err.budget) {
        e.budgetExceeded++;
        this.#api.metrics.inc('budget_exceeded');
      }
      const now = Date.now();
      if (now - e.lastLog > LOG_EVERY_MS) {
        e.lastLog = now;
        this.#api.log.warn(
          { script: state.name, hook: fn, err: err.message, errors: e.errors },
          'lua hook: script failed; skipped',
        );
      }
      return undefined;
    }
  }
}
