/**
 * Cluster retained messages, measured (not part of `npm run bench`'s broker comparison):
 * 1. the KV value codec: binary (retained-codec.ts) against JSON with a base64 payload, size and CPU;
 * 2. a node joining a cluster whose bucket holds N retained messages: time until its listeners are open,
 *    and the part's own load time (the listeners open right after it);
 * 3. the publishing node's CPU per retained publish written to the bucket.
 *
 *   npm run build && node dist/bench/retained-cluster.js [10000,100000]
 *
 * Starts its own nats-server (/usr/sbin/nats-server, JetStream in a temp dir) on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { parseWithBuffers, stringifyWithBuffers } from '../src/broker/json-buffers.js';
import { Message } from '../src/broker/message.js';
import type { MessageProperties } from '../src/broker/types.js';
import type { RetainedPart } from '../src/cluster/retained.js';
import { decodeRetained, encodeRetained, retainedKey } from '../src/cluster/retained-codec.js';
import { resolveConfig } from '../src/config/resolve.js';
import { HermodNode } from '../src/node.js';

const sizes = (process.argv[2] ?? '10000,100000').split(',').map(Number);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function sample(payloadSize: number): Message {
  return new Message(
    'site/42/building/7/floor/3/sensor/temperature',
    Buffer.alloc(payloadSize, 7),
    1,
    'sensor-000042',
    true,
    { contentType: 'application/json', userProperties: [['unit', 'C']] },
    { username: 'device' },
  );
}

/** The alternative measured against: one JSON document, payload in base64. */
function encodeJson(m: Message): Buffer {
  return Buffer.from(
    JSON.stringify({
      topic: m.topic,
      qos: m.qos,
      payload: m.payload.toString('base64'),
      props: m.props === undefined ? undefined : stringifyWithBuffers(m.props),
      from: m.from,
      username: m.headers.username,
      timestamp: m.timestamp,
      expires_at: m.expiresAt,
    }),
  );
}

function decodeJson(b: Buffer): Message {
  const o = JSON.parse(b.toString('utf8'));
  const props = o.props === undefined ? undefined : parseWithBuffers<MessageProperties>(o.props);
  const m = new Message(o.topic, Buffer.from(o.payload, 'base64'), o.qos, o.from, true, props, {
    username: o.username,
  });
  m.expiresAt = o.expires_at;
  return m;
}

function perOp(fn: () => void, n: number): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn();
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
}

function codecs(): void {
  console.log('\n## Value codec (CPU µs per operation, bytes per value)\n');
  console.log('| payload | binary size | JSON size | binary enc / dec µs | JSON enc / dec µs |');
  console.log('|---|---|---|---|---|');
  for (const size of [64, 1024, 65_536]) {
    const m = sample(size);
    const n = size > 10_000 ? 5_000 : 100_000;
    const bin = encodeRetained(m);
    const json = encodeJson(m);
    const be = perOp(() => encodeRetained(m), n);
    const bd = perOp(() => decodeRetained(bin), n);
    const je = perOp(() => encodeJson(m), n);
    const jd = perOp(() => decodeJson(json), n);
    console.log(
      `| ${size} B | ${bin.length} | ${json.length} | ${be.toFixed(2)} / ${bd.toFixed(2)} | ${je.toFixed(2)} / ${jd.toFixed(2)} |`,
    );
  }
}

function node(natsUrl: string | undefined, cluster: string, name: string): HermodNode {
  const r = resolveConfig({
    node: { name },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    dashboard: { listeners: { http: { enable: false } } },
    sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
    cluster: {
      name: cluster,
      nats: { servers: natsUrl === undefined ? [] : [natsUrl], request_timeout: '30s' },
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return new HermodNode(r.value, { store: ':memory:' });
}

/** Fills the cluster's bucket with n retained messages directly (64 B payloads, 512 writes in flight). */
async function fill(natsUrl: string, cluster: string, n: number): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const js = jetstream(nc, { timeout: 30_000 });
  const bucket = `hm_${cluster}_retained`;
  await new Kvm(js).create(bucket, { history: 1 });
  const window = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const m = new Message(`fill/${i % 1000}/${i}`, Buffer.alloc(64, 1), 1, `c${i}`, true);
    const p = js.publish(`$KV.${bucket}.${retainedKey(m.topic)}`, encodeRetained(m));
    window.add(p);
    void p.finally(() => window.delete(p));
    if (window.size >= 512) await Promise.race(window);
  }
  await Promise.all(window);
  await nc.close();
}

async function joins(natsUrl: string): Promise<void> {
  console.log('\n## A node joining a cluster with N retained messages\n');
  console.log('| N | node start, ms (listeners open) | part load, ms |');
  console.log('|---|---|---|');
  for (const n of sizes) {
    const cluster = `join${n}`;
    await fill(natsUrl, cluster, n);
    const t0 = performance.now();
    const hn = node(natsUrl, cluster, `joiner-${n}`);
    await hn.start();
    const ms = performance.now() - t0;
    const part = hn.broker.cluster?.retained as RetainedPart;
    if (hn.retainer.count !== n) throw new Error(`loaded ${hn.retainer.count} of ${n}`);
    console.log(`| ${n} | ${ms.toFixed(0)} | ${part.stats.loadMs} |`);
    await hn.stop();
  }
}

/** CPU per publish of a node (in this process) and its client: not retained, retained, retained + KV write. */
async function writes(natsUrl: string): Promise<void> {
  console.log('\n## Publishing node CPU per message (node and mqtt.js client in this one process)\n');
  const total = 20_000;
  const run = async (hn: HermodNode, retain: boolean, kvBucket?: string): Promise<number> => {
    const c = mqtt.connect({ host: '127.0.0.1', port: hn.port('tcp:default'), protocolVersion: 4 });
    await new Promise((r) => c.once('connect', r));
    const t = process.cpuUsage();
    const tasks: Array<Promise<unknown>> = [];
    for (let i = 0; i < total; i++)
      tasks.push(c.publishAsync(`w/${retain ? 'r' : 'n'}/${i}`, 'x'.repeat(64), { qos: 1, retain }));
    await Promise.all(tasks);
    if (kvBucket !== undefined) {
      // The writes are done when the bucket holds them all.
      const nc = await connect({ servers: natsUrl });
      const kv = await new Kvm(jetstream(nc)).open(kvBucket);
      while ((await kv.status()).values < total) await new Promise((r) => setTimeout(r, 50));
      await nc.close();
      const part = hn.broker.cluster?.retained as RetainedPart | undefined;
      if (part === undefined || part.stats.failedWrites > 0) throw new Error('writes failed');
    }
    const d = process.cpuUsage(t);
    await c.endAsync();
    return (d.user + d.system) / total;
  };
  const single = node(undefined, 'single', 'single');
  await single.start();
  const plain = await run(single, false);
  const local = await run(single, true);
  await single.stop();
  const member = node(natsUrl, 'writes', 'writer');
  await member.start();
  const clustered = await run(member, true, 'hm_writes_retained');
  await member.stop();
  console.log('| publish (QoS 1, 64 B) | µs CPU per message (broker + mqtt.js client, one process) |');
  console.log('|---|---|');
  console.log(`| not retained, single node | ${plain.toFixed(1)} |`);
  console.log(`| retained, single node (in memory) | ${local.toFixed(1)} |`);
  console.log(
    `| retained, cluster node (+ KV write, until the bucket holds them all) | ${clustered.toFixed(1)} |`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'hermod-retained-bench-'));
let server: ChildProcess | undefined;
try {
  codecs();
  const port = await freePort();
  writeFileSync(
    join(dir, 'nats.conf'),
    `listen: 127.0.0.1:${port}\nmax_payload: 8MB\njetstream { store_dir: "${join(dir, 'js')}" }\n`,
  );
  server = spawn('/usr/sbin/nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await (await connect({ servers: url })).close();
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await joins(url);
  await writes(url);
} finally {
  server?.kill();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
