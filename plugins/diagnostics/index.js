/**
 * diagnostics: EMQX's recon plugin for a Node process. `hermod ctl recon …` and routes under
 * /api/v5/plugin_api/diagnostics/ report memory, heap spaces, what a forced GC frees, event loop and
 * handle samples, and write heap snapshots and CPU profiles to the data dir. Built only on the plugin API.
 */
import { isAbsolute, resolve } from 'node:path';
import { CpuProfiler, heapSnapshot } from './profiles.js';
import { allocated, binLeak, memory, nodeStats } from './recon.js';

const DEFAULTS = { output_dir: '', max_profile_seconds: 300 };

function normalizeConfig(raw) {
  const conf = { ...DEFAULTS, ...raw };
  if (typeof conf.output_dir !== 'string') throw new Error('output_dir: must be a string');
  const max = conf.max_profile_seconds;
  if (!Number.isInteger(max) || max < 1)
    throw new Error('max_profile_seconds: must be an integer of at least 1');
  return conf;
}

let api;
let conf;
let profiler;
/** Resolvers of sleeps in progress, so stopping the plugin ends a CPU profile being taken. */
const sleeping = new Set();

function outputDir() {
  if (conf.output_dir === '') return resolve(api.node.dataDir, 'diagnostics');
  return isAbsolute(conf.output_dir) ? conf.output_dir : resolve(conf.output_dir);
}

function sleep(ms) {
  return new Promise((done) => {
    sleeping.add(done);
    api.setTimeout(() => {
      sleeping.delete(done);
      done();
    }, ms);
  });
}

/** A whole number in [min, max] from a ctl argument or query value; `def` when absent. */
function count(v, def, min, max, what) {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${what} must be a whole number from ${min} to ${max}`);
  return n;
}

const ops = {
  memory: () => memory(),
  allocated: () => allocated(),
  bin_leak: () => binLeak(),
  node_stats: (n, ms) =>
    nodeStats(count(n, 10, 1, 600, 'samples'), count(ms, 1000, 10, 60_000, 'interval_ms'), (fn, t) =>
      api.setTimeout(fn, t),
    ),
  heap_snapshot: () => ({ file: heapSnapshot(outputDir()) }),
  cpu_profile: async (s) => {
    const seconds = count(s, 10, 1, conf.max_profile_seconds, 'seconds');
    return { file: await profiler.profile(outputDir(), seconds, sleep), seconds };
  },
};

const USAGE = [
  'recon memory                    # Memory by kind: rss, heap, external, ArrayBuffers; used/allocated/usage',
  'recon allocated                 # V8 heap spaces, current and peak sizes',
  'recon bin_leak                  # What a forced full GC frees (external and ArrayBuffer memory first)',
  'recon node_stats [N] [MS]       # N samples MS apart (10, 1000): event loop delay/utilization, CPU, handles',
  'recon heap_snapshot             # Write a .heapsnapshot to the data dir',
  'recon cpu_profile [SECONDS]     # Profile the CPU for SECONDS (10), write a .cpuprofile to the data dir',
];

/** Text lines for the terminal: `key: value`, nested objects indented. */
function lines(value, indent = '') {
  if (Array.isArray(value))
    return value.flatMap((v, i) => [`${indent}#${i + 1}`, ...lines(v, `${indent}  `)]);
  return Object.entries(value).flatMap(([k, v]) =>
    v !== null && typeof v === 'object'
      ? [`${indent}${k}:`, ...lines(v, `${indent}  `)]
      : [`${indent}${k}: ${v}`],
  );
}

async function ctl(args) {
  const [verb, ...rest] = args;
  const op = ops[verb];
  if (op === undefined || rest.length > 2) throw new Error(`usage:\n${USAGE.join('\n')}`);
  return lines(await op(...rest));
}

/** A route answering `op`'s result; a bad argument is a 400 with EMQX's {code, message}. */
function route(op, args) {
  return async (req) => {
    try {
      return { body: await ops[op](...args(req)) };
    } catch (err) {
      return { status: 400, body: { code: 'BAD_REQUEST', message: err.message } };
    }
  };
}

export default {
  start(a) {
    api = a;
    conf = normalizeConfig(a.config());
    profiler = new CpuProfiler();
    a.ctl('recon', { usage: USAGE, run: ctl });
    a.route(
      'GET',
      '/memory',
      route('memory', () => []),
    );
    a.route(
      'GET',
      '/allocated',
      route('allocated', () => []),
    );
    a.route(
      'POST',
      '/bin_leak',
      route('bin_leak', () => []),
    );
    a.route(
      'GET',
      '/node_stats',
      route('node_stats', (r) => [r.query.samples, r.query.interval_ms]),
    );
    a.route(
      'POST',
      '/heap_snapshot',
      route('heap_snapshot', () => []),
    );
    a.route(
      'POST',
      '/cpu_profile',
      route('cpu_profile', (r) => [r.query.seconds ?? r.body?.seconds]),
    );
  },
  stop() {
    profiler?.close();
    for (const done of sleeping) done();
    sleeping.clear();
    api = undefined;
  },
  onConfigChanged(_old, next) {
    const c = normalizeConfig(next);
    if (api !== undefined) conf = c;
  },
  healthCheck() {
    return undefined;
  },
};
