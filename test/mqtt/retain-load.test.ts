/**
 * A restarting node accepts CONNECTs while it still loads the retained messages of its store, and nothing a
 * client does during that load sees a partial set: a SUBSCRIBE gets every stored match, a retained PUBLISH
 * replaces (or deletes) the stored message rather than being overwritten by it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolve.js';
import { HermodNode } from '../../src/node.js';
import { startBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { captureLogs } from '../helpers/log-capture.js';

/** Enough rows that reading them takes many slices (tens of milliseconds at least). */
const STORED = 40_000;

/**
 * A node on `dir` whose start() is not awaited, and the moment its TCP listener accepts. $SYS is on, as in the
 * default config: it publishes its retained topics as the node starts, while the load runs.
 */
async function startingNode(dir: string) {
  const r = resolveConfig({
    node: { name: 'hermod@127.0.0.1', data_dir: dir },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    dashboard: { listeners: { http: { enable: false } } },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const node = new HermodNode(r.value, { store: dir });
  let started = false;
  const starting = node.start().then(() => {
    started = true;
  });
  // A timer, not setImmediate: the load's slices take turns with the event loop's other work.
  // The listener is in the map once it accepts.
  while (!node.listeners.has('tcp:default')) await new Promise((t) => setTimeout(t, 1));
  return { node, starting, isStarted: () => started, port: node.port() };
}

/** The retainer's line at the end of its load (none yet while it loads). */
const LOADED = 'loaded retained messages';

describe('retained messages loading at start-up', () => {
  let dir: string;

  before(async () => {
    const b = await startBroker({ tempDataDir: true });
    dir = b.dataDir!;
    const pub = await connectClient(b.port);
    for (let i = 0; i < STORED; i++) pub.publish(`load/${i}`, `stored ${i}`, { qos: 0, retain: true });
    // One publisher's messages arrive in order: once this one is acknowledged, all are stored.
    await publish(pub, 'load/last', 'stored last', { qos: 1, retain: true });
    await end(pub);
    assert.equal(b.node.retainer.count, STORED + 1);
    await b.node.stop();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers a CONNECT before the load ends; a SUBSCRIBE then gets every stored message', async () => {
    const logs = captureLogs();
    const n = await startingNode(dir);
    try {
      const s = await connectClient(n.port);
      assert.equal(logs.matching(LOADED).length, 0, 'CONNACK came while the retained messages were loading');
      assert.equal(n.isStarted(), false);
      const g = collect(s);
      await subscribe(s, 'load/#', { qos: 0 });
      const got = await g.next(STORED + 1, 20_000);
      assert.equal(new Set(got.map((m) => m.topic)).size, STORED + 1);
      assert.ok(got.every((m) => m.packet.retain));
      assert.equal(got.find((m) => m.topic === 'load/7')?.payload.toString(), 'stored 7');
      await n.starting;
      assert.deepEqual(
        logs.matching(LOADED).map((l) => l.loaded),
        [STORED + 1],
      );
      await sleep(100);
      assert.equal(g.messages.length, STORED + 1, 'each retained message once');
      await end(s);
    } finally {
      await n.starting;
      await n.node.stop();
      logs.restore();
    }
  });

  it('a retained PUBLISH during the load replaces or deletes the stored message', async () => {
    const logs = captureLogs();
    const n = await startingNode(dir);
    try {
      const pub = await connectClient(n.port);
      assert.equal(logs.matching(LOADED).length, 0, 'CONNACK came while the retained messages were loading');
      // The last rows of the store: the load would reach them last.
      await publish(pub, `load/${STORED - 1}`, 'newer', { qos: 1, retain: true });
      await publish(pub, `load/${STORED - 2}`, '', { qos: 1, retain: true });
      await n.starting;
      assert.equal(n.node.retainer.match('load/#').length, STORED);
      assert.equal(n.node.retainer.get(`load/${STORED - 1}`)?.payload.toString(), 'newer');
      assert.equal(n.node.retainer.get(`load/${STORED - 2}`), undefined);
      const s = await connectClient(n.port);
      const g = collect(s);
      await subscribe(s, [`load/${STORED - 1}`, `load/${STORED - 2}`], { qos: 1 });
      const [m] = await g.next(1);
      assert.equal(m!.payload.toString(), 'newer');
      await sleep(150);
      assert.equal(g.messages.length, 1);
      await Promise.all([end(pub), end(s)]);
    } finally {
      await n.starting;
      await n.node.stop();
      logs.restore();
    }
    // Written to the store as well: the next start has the same set.
    const again = await startingNode(dir);
    await again.starting;
    try {
      assert.equal(again.node.retainer.match('load/#').length, STORED);
      assert.equal(again.node.retainer.get(`load/${STORED - 1}`)?.payload.toString(), 'newer');
    } finally {
      await again.node.stop();
    }
  });
});
