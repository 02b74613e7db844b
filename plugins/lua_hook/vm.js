/**
 * One Lua 5.4 state per script, on wasmoon's WebAssembly build of the reference interpreter. The calls
 * go through the Lua C API directly (not wasmoon's object bridge): they are synchronous, return every
 * result (wasmoon's bridge keeps one), and move strings as bytes, so binary payloads survive both ways.
 *
 * Every call runs under an instruction budget: a count hook fires after `budget` VM instructions and raises
 * a Lua error, which unwinds the call like any other error. A script can therefore fail or loop, never
 * hang or crash the broker; the caller sees a LuaCallError.
 */
const LUA_MASKCOUNT = 8;
const LUA_MULTRET = -1;
const T_NIL = 0;
const T_BOOLEAN = 1;
const T_NUMBER = 3;
const T_STRING = 4;
const T_FUNCTION = 6;
const BUDGET_MESSAGE = 'instruction budget exceeded';

/** A failed call: a Lua error, or the instruction budget running out (`budget` true). */
export class LuaCallError extends Error {
  constructor(message, budget) {
    super(message);
    this.budget = budget;
  }
}

/** The WebAssembly module with what every state of it shares: scratch memory and the budget hook. */
class Runtime {
  constructor(lua) {
    this.lua = lua;
    this.m = lua.module;
    this.cap = 4096;
    this.scratch = this.m._malloc(this.cap);
    this.lenPtr = this.m._malloc(4);
    this.budgetHit = false;
    this.budgetHook = this.m.addFunction((L) => {
      this.budgetHit = true;
      this.lua.lua_pushstring(L, BUDGET_MESSAGE);
      this.lua.lua_error(L);
    }, 'vii');
    this.names = new Map();
    this.view = undefined;
    this.smallInts = [0n, 1n, 2n];
  }

  /** A Buffer over the module's whole memory, made again when the memory grew (the old one is detached). */
  heap() {
    if (this.view === undefined || this.view.byteLength === 0) this.view = Buffer.from(this.m.HEAPU8.buffer);
    return this.view;
  }

  /** A NUL-terminated copy of a global's name in the module's memory, made once per name. */
  cname(s) {
    let at = this.names.get(s);
    if (at === undefined) {
      const bytes = Buffer.from(`${s}\0`);
      at = this.m._malloc(bytes.length);
      this.m.HEAPU8.set(bytes, at);
      this.names.set(s, at);
    }
    return at;
  }

  /** Room for n bytes in the scratch area (grown as needed; the heap view is re-read after growth). */
  room(n) {
    if (n > this.cap) {
      this.m._free(this.scratch);
      this.cap = Math.max(n, this.cap * 2);
      this.scratch = this.m._malloc(this.cap);
    }
    return this.scratch;
  }

  pushBytes(L, bytes) {
    const at = this.room(bytes.length);
    bytes.copy(this.heap(), at);
    this.m._lua_pushlstring(L, at, bytes.length);
  }

  pushString(L, s) {
    const at = this.room(s.length * 3);
    const written = this.heap().write(s, at, this.cap, 'utf8');
    this.m._lua_pushlstring(L, at, written);
  }

  push(L, v) {
    if (typeof v === 'string') this.pushString(L, v);
    else if (Buffer.isBuffer(v)) this.pushBytes(L, v);
    else if (typeof v === 'boolean') this.m._lua_pushboolean(L, v ? 1 : 0);
    else if (Number.isInteger(v)) this.m._lua_pushinteger(L, this.smallInts[v] ?? BigInt(v));
    else if (typeof v === 'number') this.m._lua_pushnumber(L, v);
    else this.m._lua_pushnil(L);
  }

  /** The value at stack index i: strings as Buffers, numbers, booleans; other types as undefined. */
  value(L, i) {
    switch (this.m._lua_type(L, i)) {
      case T_STRING: {
        const at = this.m._lua_tolstring(L, i, this.lenPtr);
        const n = this.m.HEAPU32[this.lenPtr >> 2];
        // A copy: the bytes belong to Lua and may move or be freed after the call.
        return Buffer.from(this.heap().subarray(at, at + n));
      }
      case T_NUMBER:
        return this.m._lua_tonumberx(L, i, 0);
      case T_BOOLEAN:
        return this.m._lua_toboolean(L, i) !== 0;
      case T_NIL:
        return undefined;
      default:
        return undefined;
    }
  }

  /** Calls the function on top of the stack with n args under the budget; returns its results. */
  pcall(L, nargs, budget) {
    const base = this.m._lua_gettop(L) - nargs - 1;
    this.budgetHit = false;
    // Setting the hook also resets its instruction count; between calls no Lua code runs, so it stays set.
    this.m._lua_sethook(L, this.budgetHook, LUA_MASKCOUNT, budget);
    const status = this.m._lua_pcallk(L, nargs, LUA_MULTRET, 0, 0, 0);
    const top = this.m._lua_gettop(L);
    if (status !== 0) {
      const err = this.value(L, top);
      this.m._lua_settop(L, base);
      const hit = this.budgetHit;
      throw new LuaCallError(hit ? BUDGET_MESSAGE : err === undefined ? 'error' : String(err), hit);
    }
    const out = new Array(top - base);
    for (let i = base + 1; i <= top; i++) out[i - base - 1] = this.value(L, i);
    this.m._lua_settop(L, base);
    return out;
  }
}

let runtime;

/**
 * The shared runtime, made on first use (instantiating the WebAssembly module takes a few ms). wasmoon is
 * imported then too: a node imports every installed plugin at boot, started or not, and importing wasmoon
 * was ~50 ms of CPU before the node's listeners opened (2026-12-04).
 */
export async function luaRuntime() {
  runtime ??= import('wasmoon')
    .then(({ LuaFactory }) => new LuaFactory().getLuaModule())
    .then((lua) => new Runtime(lua));
  return runtime;
}

/** Standard functions a hook script does not get: leaving the process, the host's files and programs. */
const SANDBOX =
  'os.exit = nil; os.execute = nil; os.remove = nil; os.rename = nil; os.tmpname = nil; ' +
  'io = nil; package.loadlib = nil; dofile = nil; loadfile = nil';

/** One loaded script: its own Lua state, the global functions it defines, and a per-call budget. */
export class LuaState {
  constructor(rt, name, source, budget) {
    this.rt = rt;
    this.name = name;
    this.budget = budget;
    this.L = rt.lua.luaL_newstate();
    rt.lua.luaL_openlibs(this.L);
    try {
      this.#run(SANDBOX, 'sandbox');
      this.#run(source, name);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  #run(source, chunkName) {
    const bytes = Buffer.from(source);
    const at = this.rt.room(bytes.length + 1);
    this.rt.m.HEAPU8.set(bytes, at);
    const status = this.rt.lua.luaL_loadbufferx(this.L, at, bytes.length, `=${chunkName}`, 't');
    if (status !== 0) {
      const err = this.rt.value(this.L, -1);
      this.rt.m._lua_settop(this.L, 0);
      throw new LuaCallError(String(err ?? 'syntax error'), false);
    }
    return this.rt.pcall(this.L, 0, this.budget);
  }

  /** Whether the script defines a global function of that name. */
  hasFunction(fn) {
    const t = this.rt.m._lua_getglobal(this.L, this.rt.cname(fn));
    this.rt.m._lua_settop(this.L, 0);
    return t === T_FUNCTION;
  }

  /** Calls global function `fn` with args; returns its results or throws LuaCallError. */
  call(fn, args) {
    this.rt.m._lua_getglobal(this.L, this.rt.cname(fn));
    for (const a of args) this.rt.push(this.L, a);
    return this.rt.pcall(this.L, args.length, this.budget);
  }

  close() {
    if (this.L === 0) return;
    this.rt.lua.lua_close(this.L);
    this.L = 0;
  }
}
