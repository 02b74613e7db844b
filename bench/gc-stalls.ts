/**
 * How long V8's GC stalls the event loop on a broker-sized heap, to weigh GC flags
 * (`node [--single-threaded-gc] dist/bench/gc-stalls.js [--entries N] [--seconds S]`).
 *
 * It fills a Map with N retained-message-like entries (a topic string and a small object holding a 64-byte
 * Buffer), then for S seconds makes short-lived garbage with every 50th object replacing an entry, as a busy
 * broker with a large retained set does, and times every event-loop turn. It prints the five longest turns,
 * p99.9, the turn count, the process CPU seconds and the heap in use.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { entries: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '20' } },
});
const entries = Number(values.entries);
const seconds = Number(values.seconds);

interface Entry {
  topic: string;
  payload: Buffer;
  qos: number;
  at: number;
}

const index = new Map<string, Entry>();
const topicOf = (i: number): string => `ret/${i % 1000}/${i}`;
for (let i = 0; i < entries; i++) {
  const topic = topicOf(i);
  index.set(topic, { topic, payload: Buffer.allocUnsafe(64), qos: 1, at: Date.now() });
}

const turns: number[] = [];
let last = performance.now();
const end = last + seconds * 1000;
let sink = 0;

function turn(): void {
  const now = performance.now();
  turns.push(now - last);
  last = now;
  for (let k = 0; k < 2000; k++) {
    const garbage = { n: k, name: `x${k}`, list: new Array<number>(8) };
    sink += garbage.list.length;
    if (k % 50 === 0) {
      const topic = topicOf(Math.floor(Math.random() * entries));
      index.set(topic, { topic, payload: Buffer.allocUnsafe(64), qos: 1, at: now });
    }
  }
  if (now < end) {
    setImmediate(turn);
    return;
  }
  turns.sort((a, b) => b - a);
  const cpu = process.cpuUsage();
  console.log(
    JSON.stringify({
      flags: process.execArgv.join(' '),
      longestTurnsMs: turns.slice(0, 5).map((t) => Number(t.toFixed(1))),
      p999Ms: Number((turns[Math.floor(turns.length / 1000)] ?? 0).toFixed(2)),
      turns: turns.length,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
      garbageMade: sink > 0,
    }),
  );
}
setImmediate(turn);
