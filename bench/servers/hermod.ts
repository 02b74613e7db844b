/**
 * Hermod as the benchmark runs it: one node built programmatically, plain TCP on 127.0.0.1:PORT, no
 * WebSocket listener, no $SYS publishing, the limits of LIMITS, an in-memory store.
 *
 *   taskset -c 0 node dist/bench/servers/hermod.js PORT
 */
import { resolveConfig } from '../../src/config/resolve.js';
import { HermodNode } from '../../src/node.js';
import { LIMITS } from '../scenarios.js';

const port = Number(process.argv[2] ?? 1883);
const r = resolveConfig({
  listeners: { tcp: { default: { bind: `127.0.0.1:${port}` } }, ws: { default: { enable: false } } },
  sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
  mqtt: { max_inflight: LIMITS.maxInflight, max_mqueue_len: LIMITS.maxQueued },
});
if (!r.ok) {
  console.error('hermod bench server: invalid config', JSON.stringify(r.errors));
  process.exit(2);
}
const node = new HermodNode(r.value, { store: ':memory:' });
await node.start();
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
