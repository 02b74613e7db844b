/**
 * S4: opens many idle MQTT connections as fast as the broker takes them, then measures what each costs the
 * broker in memory once things settle.
 *
 * "As fast as it takes them" depends on how many handshakes are in flight: too few and the round trips
 * limit the rate, too many and a broker with a short listen backlog (Mosquitto listens with 100) overflows
 * it, and the kernel's SYN retransmissions (1 s) dominate. So the connections are opened in passes with
 * different numbers in flight and the best rate counts. Memory is measured after the first pass, on the
 * fresh broker, twice: 3 s and 15 s after the last connection (see IDLE_MS).
 */
import { CoreWatch, cpuSeconds, monotonicUs, rssBytes, selfCpuSeconds } from '../proc.js';
import type { ConnectionsSpec } from '../scenarios.js';
import type { Job, RunResult } from '../types.js';
import { type ClientSink, RawClient } from './client.js';

const SETTLE_MS = 3000;
/**
 * A second RSS reading, this long after the first: an idle fleet is long-lived, and a Node broker gives
 * back the young-generation pages its connect burst grew only once it has been quiet for a few seconds
 * (src/broker/young-gen-trim.ts), so the first reading includes transient heap and this one the fleet's
 * steady cost. Both are reported.
 */
const IDLE_MS = 12_000;
/** Pause after closing a pass's connections, so the broker has cleaned up before the next pass. */
const CLOSE_MS = 2000;
/** Source addresses the connections are spread over, so ephemeral ports never run short. */
const SOURCES = 16;

const log = (msg: string) => process.stderr.write(`  loadgen: ${msg}\n`);

let lostAfterConnect = 0;
const idle: ClientSink = {
  onPublish() {},
  onAck() {},
  onLost() {
    lostAfterConnect++;
  },
};

interface Pass {
  concurrency: number;
  clients: RawClient[];
  errors: Map<string, number>;
  seconds: number;
  cpu: number;
  brokerOther: number;
  selfCpu: number;
  loaderOther: number;
  windowUs: [number, number];
}

async function openPass(job: Job, n: number, concurrency: number, pass: number): Promise<Pass> {
  const pid = job.brokerPid;
  const cpu0 = cpuSeconds(pid);
  const brokerCore = new CoreWatch(job.cores.broker, () => cpuSeconds(pid)).start();
  const loaderCore = new CoreWatch(job.cores.loader, selfCpuSeconds).start();
  const self0 = process.cpuUsage();
  const clients: RawClient[] = [];
  const errors = new Map<string, number>();
  let next = 0;
  const t0 = performance.now();
  const us0 = monotonicUs();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        const c = await RawClient.open(
          {
            host: job.host,
            port: job.port,
            clientId: `bench-s4-${pass}-${i}`,
            keepalive: 300,
            localAddress: `127.0.0.${2 + (i % SOURCES)}`,
          },
          idle,
        );
        clients.push(c);
      } catch (err) {
        const msg = (err as Error).message.replace(/^bench-s4-\d+-\d+: /, '');
        errors.set(msg, (errors.get(msg) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  return {
    concurrency,
    clients,
    errors,
    seconds,
    cpu: cpuSeconds(pid) - cpu0,
    brokerOther: brokerCore.stop(),
    selfCpu: (self.user + self.system) / 1e6,
    loaderOther: loaderCore.stop(),
    windowUs: [us0, monotonicUs()],
  };
}

export async function runConnections(job: Job, spec: ConnectionsSpec): Promise<RunResult> {
  const pid = job.brokerPid;
  const problems: string[] = [];
  const notes: string[] = [];
  const rssBefore = rssBytes(pid);
  let rssAfter = 0;
  let rssIdle = 0;
  let settled = 0;
  let best: Pass | undefined;
  const rates: string[] = [];
  for (let k = 0; k < spec.concurrency.length; k++) {
    const c = spec.concurrency[k];
    log(`pass ${k + 1}: opening ${spec.connections} connections, ${c} handshakes at a time`);
    const pass = await openPass(job, spec.connections, c, k);
    const n = pass.clients.length;
    log(`${n} connected in ${pass.seconds.toFixed(2)} s`);
    for (const [msg, count] of pass.errors)
      problems.push(`${count} connections failed (${c} in flight): ${msg}`);
    if (k === 0) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      rssAfter = rssBytes(pid);
      await new Promise((r) => setTimeout(r, IDLE_MS));
      rssIdle = rssBytes(pid);
      settled = n;
    }
    rates.push(`${Math.round(n / pass.seconds)}/s with ${c}`);
    if (best === undefined || n / pass.seconds > best.clients.length / best.seconds) best = pass;
    for (const client of pass.clients) client.reset();
    if (k < spec.concurrency.length - 1) await new Promise((r) => setTimeout(r, CLOSE_MS));
  }
  if (lostAfterConnect > 0) problems.push(`${lostAfterConnect} connections closed by the broker while idle`);
  const b = best!;
  const n = b.clients.length;
  notes.push(`connections/s by handshakes in flight: ${rates.join(', ')}`);
  notes.push(
    `RSS ${(rssBefore / 2 ** 20).toFixed(1)} MB fresh, ${(rssAfter / 2 ** 20).toFixed(1)} MB with ${settled} idle connections ${SETTLE_MS / 1000} s after they connected, ${(rssIdle / 2 ** 20).toFixed(1)} MB ${(SETTLE_MS + IDLE_MS) / 1000} s after`,
  );
  return {
    broker: job.broker,
    variant: job.variant.id,
    scenario: job.variant.scenario,
    status: problems.length > 0 ? 'failed' : 'ok',
    problems,
    notes,
    seconds: b.seconds,
    connections: n,
    connRate: n / b.seconds,
    rssPerConn: settled > 0 ? (rssAfter - rssBefore) / settled : undefined,
    rssPerConnIdle: settled > 0 ? (rssIdle - rssBefore) / settled : undefined,
    brokerCpu: (100 * b.cpu) / b.seconds,
    brokerCoreOther: b.brokerOther,
    loadgenCpu: (100 * b.selfCpu) / b.seconds,
    loaderCoreOther: b.loaderOther,
    rssAvg: rssAfter,
    rssMax: rssAfter,
    counts: { attempted: spec.connections, connected: n, concurrency: b.concurrency },
    windowUs: b.windowUs,
  };
}
