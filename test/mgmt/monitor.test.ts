import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Monitor, type MonitorReading, RETENTION_MS } from '../../src/mgmt/monitor.js';
import { until } from '../gateway/helpers.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from './http.js';

const NODE = 'hermod@127.0.0.1';

describe('monitor API with real clients (1 s samples)', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({ api: true, config: { dashboard: { sample_interval: '1s' } } });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('samples gauges and per-slot message counts that add up to what clients did', async () => {
    const sub = await connectClient(b.port);
    await subscribe(sub, 'mon/+', { qos: 1 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 7; i++) await publish(pub, `mon/${i}`, 'x', { qos: 1 });
    await publish(pub, 'nobody/listens', 'x', { qos: 0 });
    // 8 received, 7 delivered, 1 dropped for lack of subscribers; the series carries each once.
    let rows: Array<Record<string, number>> = [];
    await until(
      async () => {
        rows = (await api.get('/monitor?latest=60')).body;
        return sum(rows, 'received') === 8 && sum(rows, 'sent') === 7 && rows.at(-1)?.connections === 2;
      },
      10_000,
      'samples covering the traffic',
    );
    assert.equal(sum(rows, 'dropped'), 1);
    const last = rows.at(-1)!;
    assert.equal(last.live_connections, 2);
    assert.equal(last.subscriptions, 1);
    assert.equal(last.subscriptions_ram, 1, 'the cluster form says how many subscriptions are in memory');
    assert.equal(last.topics, 1);
    for (let i = 1; i < rows.length; i++)
      assert.ok(rows[i]!.time_stamp! > rows[i - 1]!.time_stamp!, 'points in time order');
    assert.equal(rows[0]!.time_stamp! % 1000, 0, 'samples land on whole seconds');

    const node = await api.get(`/monitor/nodes/${encodeURIComponent(NODE)}?latest=60`);
    assert.equal(node.status, 200);
    assert.equal(sum(node.body, 'received'), 8);
    assert.equal(node.body.at(-1).subscriptions_ram, undefined, 'the node form has no cluster fields');
    await end(sub);
    await end(pub);
  });

  it('reports current gauges, retained count and non-zero rates while traffic flows', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'mon/retained', 'r', { qos: 1, retain: true });
    let cur: Record<string, number> = {};
    await until(
      async () => {
        await publish(pub, 'mon/flow', 'x', { qos: 1 });
        cur = (await api.get('/monitor_current')).body;
        return cur.received_msg_rate! > 0;
      },
      10_000,
      'a received rate above zero',
    );
    assert.equal(cur.connections, 1);
    assert.equal(cur.live_connections, 1);
    assert.equal(cur.retained_msg_count, 1);
    assert.equal(cur.shared_subscriptions, 0);
    for (const k of ['sent_msg_rate', 'dropped_msg_rate', 'persisted_rate', 'subscriptions', 'topics'])
      assert.equal(typeof cur[k], 'number', k);
    const node = await api.get(`/monitor_current/nodes/${encodeURIComponent(NODE)}`);
    assert.equal(node.status, 200);
    assert.ok(node.body.node_uptime > 0);
    assert.equal(node.body.retained_msg_count, 1);
    await end(pub);
  });

  it('refuses an unknown node and a bad latest with {code, message}', async () => {
    for (const path of ['/monitor/nodes/other@host', '/monitor_current/nodes/other@host']) {
      const r = await api.get(path);
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, { code: 'NOT_FOUND', message: 'Node not found' });
    }
    for (const bad of ['0', '-5', 'soon']) {
      const r = await api.get(`/monitor?latest=${bad}`);
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'BAD_REQUEST');
    }
  });
});

describe('monitor series: resolution and retention', () => {
  const reading = (connections: number, received: number): MonitorReading => ({
    gauges: {
      connections,
      live_connections: connections,
      subscriptions: 0,
      topics: 0,
      disconnected_durable_sessions: 0,
      subscriptions_durable: 0,
    },
    counters: { received, sent: 0, dropped: 0, persisted: 0 },
  });

  /** A monitor sampled every 10 s for `hours`, one message received per sample, connections = sample number. */
  function history(hours: number) {
    const t0 = Date.UTC(2026, 0, 1);
    let now = t0;
    let n = 0;
    const m = new Monitor(
      () => reading(n, n),
      () => 10_000,
      () => now,
    );
    m.start();
    m.stop();
    for (n = 1; n <= (hours * 3600) / 10; n++) {
      now = t0 + n * 10_000;
      m.sampleAt(now);
    }
    return { m, samples: n - 1, at: (t: number) => (now = t), now: () => now };
  }

  it('keeps the last hour at 10 s and merges older points into minute buckets without losing counts', () => {
    const h = history(3);
    h.m.compact(h.now());
    assert.ok(h.m.size <= 360 + 120 + 1, `older points merged into minutes (${h.m.size} kept)`);
    const all = h.m.series();
    const total = all.reduce((s, r) => s + (r.received ?? 0), 0);
    assert.equal(total, h.samples, 'every counted message is still in the series');
    const hour = h.m.series(3600);
    assert.equal(hour.at(-1)!.connections, h.samples, 'gauges keep the newest value of a bucket');
    assert.ok(hour.length >= 360 && hour.length <= 362, `10 s points over the last hour (${hour.length})`);
  });

  it('drops points older than seven days and fills missing slots with empty points', () => {
    const h = history(1);
    h.at(h.now() + RETENTION_MS + 60_000);
    h.m.sampleAt(h.now());
    h.m.compact(h.now());
    assert.equal(h.m.size, 1);
    h.at(h.now() + 30_000);
    h.m.sampleAt(h.now());
    const rows = h.m.series();
    assert.equal(rows.length, 4, 'slots at +0, +10, +20, +30 s');
    assert.equal(h.m.series(60).length, 7, 'a window starts at its beginning, empty before the first sample');
    assert.deepEqual(Object.keys(rows[1]!), ['time_stamp'], 'a slot with no sample is empty');
  });

  it('never loses or invents a counted message, whatever the gaps, compactions and window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapSlots: fc.integer({ min: 1, max: 2000 }), received: fc.nat(50) }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.option(fc.integer({ min: 1, max: 8 * 86_400 }), { nil: undefined }),
        (steps, latest) => {
          const t0 = Date.UTC(2026, 0, 1);
          let now = t0;
          let total = 0;
          const m = new Monitor(
            () => reading(0, total),
            () => 10_000,
            () => now,
          );
          m.start();
          m.stop();
          const times: number[] = [];
          for (const s of steps) {
            now += s.gapSlots * 10_000;
            total += s.received;
            m.sampleAt(now);
            times.push(now);
            if (s.gapSlots > 500) m.compact(now);
          }
          const rows = m.series(latest);
          for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.time_stamp > rows[i - 1]!.time_stamp);
          const counted = rows.reduce((n, r) => n + (r.received ?? 0), 0);
          if (latest === undefined) {
            // Everything still kept (younger than seven days) is in the series exactly once.
            let kept = 0;
            steps.forEach((s, i) => {
              if (now - times[i]! <= RETENTION_MS) kept += s.received;
            });
            assert.ok(counted >= kept && counted <= total, `${counted} counted, ${kept}..${total} expected`);
          } else assert.ok(counted <= total);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('monitor history across a restart', () => {
  it('a node restarted on the same data dir still shows the traffic of its previous run', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hermod-monitor-'));
    try {
      const config = { dashboard: { sample_interval: '1s' } };
      const first = await startBroker({ api: true, dataDir, config });
      const firstApi = await adminClient(first);
      const pub = await connectClient(first.port);
      for (let i = 0; i < 5; i++) await publish(pub, 'history/t', 'x', { qos: 1 });
      await until(
        async () => sum((await firstApi.get('/monitor?latest=300')).body, 'received') === 5,
        10_000,
        'the first run sampled its traffic',
      );
      await end(pub);
      await first.stop();

      const second = await startBroker({ api: true, dataDir, config });
      try {
        const rows = (await (await adminClient(second)).get('/monitor?latest=300')).body;
        assert.equal(sum(rows, 'received'), 5, 'the earlier run is still in the series');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** The total of one column of a /monitor answer. */
function sum(rows: Array<Record<string, number>>, key: string): number {
  return rows.reduce((n, r) => n + (r[key] ?? 0), 0);
}
