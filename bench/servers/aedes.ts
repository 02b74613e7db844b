/**
 * Aedes as the benchmark runs it: Aedes.createBroker() with its defaults (in-memory persistence and
 * emitter) behind net.createServer on 127.0.0.1:PORT with Node's socket defaults, as Aedes's own example
 * does (Nagle's algorithm stays on, as in Mosquitto by default: both measured faster that way here).
 *
 *   taskset -c 0 node dist/bench/servers/aedes.js PORT
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { answerHeapProbes } from './heap-probe.js';

const port = Number(process.argv[2] ?? 1883);
const aedes = await Aedes.createBroker();
const server = net.createServer(aedes.handle);
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
answerHeapProbes();
process.stdout.write(`aedes listening on ${port}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
