/**
 * Hermod as the benchmark runs it: one node built programmatically, plain TCP on 127.0.0.1:PORT, no
 * WebSocket listener, no $SYS publishing, the limits of LIMITS, an in-memory store.
 * BENCH_DURABILITY=sync|periodic|off measures that durability mode with the store in a temp dir on disk
 * (fsyncs included), removed at exit. BENCH_DATA_DIR=<dir> keeps the store in that directory across runs
 * (the retained restart curve stops and starts the broker on it), with durability periodic unless
 * BENCH_DURABILITY says otherwise.
 *
 *   taskset -c 0 node dist/bench/servers/hermod.js PORT
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/resolve.js';
import { HermodNode } from '../../src/node.js';
import { fdBudget } from '../../src/transport/fd-reserve.js';
import { authFromEnv, BENCH_PASSWORD, BENCH_USER, hermodAuthentication } from '../auth.js';
import { LIMITS } from '../scenarios.js';
import { answerHeapProbes } from './heap-probe.js';

const port = Number(process.argv[2] ?? 1883);
const durability = process.env.BENCH_DURABILITY;
const keptDir = process.env.BENCH_DATA_DIR || undefined;
const ownDir =
  keptDir !== undefined || durability === undefined || durability === ''
    ? undefined
    : mkdtempSync(join(tmpdir(), 'hermod-bench-'));
const dataDir = keptDir ?? ownDir;
const mode = durability || 'periodic';
const auth = authFromEnv();
const r = resolveConfig({
  authentication: hermodAuthentication(auth),
  listeners: { tcp: { default: { bind: `127.0.0.1:${port}` } }, ws: { default: { enable: false } } },
  sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
  // A free port for the management API, so two bench servers (or a bench and a running broker) can coexist.
  dashboard: { listeners: { http: { bind: '127.0.0.1:0' } } },
  mqtt: { max_inflight: LIMITS.maxInflight, max_mqueue_len: LIMITS.maxQueued },
  ...(dataDir === undefined ? {} : { node: { data_dir: dataDir }, durability: { mode } }),
});
if (!r.ok) {
  console.error('hermod bench server: invalid config', JSON.stringify(r.errors));
  process.exit(2);
}
// The default keeps 5 % of the descriptors (1 000 of 20 000 here) for the management API, which would
// refuse part of S4's 19 000 connections; Mosquitto and Aedes keep nothing back. 32 is the floor of the default.
fdBudget.configure({ reserve: 32 });
const node = new HermodNode(r.value, { store: dataDir ?? ':memory:' });
if (ownDir !== undefined) process.on('exit', () => rmSync(ownDir, { recursive: true, force: true }));
await node.start();
if (auth === 'pbkdf2' || auth === 'bcrypt') {
  await node.authn
    .users('mqtt:global', 'password_based:built_in_database')!
    .add({ user_id: BENCH_USER, password: BENCH_PASSWORD });
}
answerHeapProbes();
process.stdout.write(`hermod listening on ${port}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  // A normal exit (not death by signal) also lets --cpu-prof write its profile.
  node.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
