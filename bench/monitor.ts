/**
 * Footprint of the dashboard monitor (src/mgmt/monitor.ts): eight simulated days of 10 s samples through the
 * real Monitor class with a fake clock, then the cost of each sample (compaction included), how many points
 * stay in memory, and how long `/monitor?latest=` takes to build for 1 h, 1 day and 7 days.
 *
 *   npm run build && node dist/bench/monitor.js
 */
import { Monitor, type MonitorReading } from '../src/mgmt/monitor.js';

const DAY_S = 86_400;
const t0 = Date.UTC(2026, 0, 1);
let now = t0;
let n = 0;
const reading = (): MonitorReading => ({
  gauges: {
    connections: n,
    live_connections: n,
    subscriptions: n,
    topics: n,
    disconnected_durable_sessions: 0,
    subscriptions_durable: 0,
  },
  counters: { received: n, sent: n, dropped: 0, persisted: 0 },
});
const monitor = new Monitor(
  reading,
  () => 10_000,
  () => now,
);
monitor.start();
monitor.stop();

const steps = (8 * DAY_S) / 10;
let started = process.hrtime.bigint();
for (n = 1; n <= steps; n++) {
  now = t0 + n * 10_000;
  monitor.sampleAt(now);
}
const perSample = Number(process.hrtime.bigint() - started) / steps / 1000;
console.log(
  `${steps} samples (8 days at 10 s): ${perSample.toFixed(1)} µs each, ${monitor.size} points kept in memory`,
);
for (const span of [3600, DAY_S, 7 * DAY_S]) {
  const rounds = 20;
  started = process.hrtime.bigint();
  let points = 0;
  for (let i = 0; i < rounds; i++) points = monitor.series(span).length;
  const ms = Number(process.hrtime.bigint() - started) / rounds / 1e6;
  console.log(`/monitor?latest=${span}: ${points} points in ${ms.toFixed(2)} ms`);
}
