import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { fixture, readFixture, repoRoot } from '../helpers/fixtures.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { packShipped, pluginMetric } from './shipped.js';

const WEB_HOOK = 'web_hook-1.0.0';

/** An HTTP endpoint that records the JSON bodies POSTed to it, or never answers when `hang` is set. */
async function endpoint(hang = false) {
  const bodies: Array<Record<string, unknown>> = [];
  let waiters: Array<() => void> = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hang) return;
      const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
      for (const b of Array.isArray(body) ? body : [body]) bodies.push(b as Record<string, unknown>);
      for (const w of waiters) w();
      waiters = [];
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    bodies,
    /** Resolves with the first body matching `pred`, waiting for it as needed. */
    async find(pred: (b: Record<string, unknown>) => boolean, what: string) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const hit = bodies.find(pred);
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`no ${what} among ${JSON.stringify(bodies)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const metric = (api: ApiClient, name: string) => pluginMetric(api, 'web_hook', name);

describe('web_hook: shipped with Hermod, posts EMQX 4.x events', () => {
  let shipped: string;
  let dataDir: string;
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    shipped = await packShipped();
    dataDir = mkdtempSync(join(tmpdir(), 'hermod-webhook-'));
    b = await startBroker({ api: true, dataDir, config: { plugins: { shipped_dir: shipped } } });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(shipped, { recursive: true, force: true });
  });

  it('a fresh node lists the shipped web_hook as installed and stopped, with its README', async () => {
    assert.ok(existsSync(join(shipped, `${WEB_HOOK}.tar.gz`)));
    const list = await api.get('/plugins');
    const wh = (list.body as Array<Record<string, unknown>>).find((p) => p.name === 'web_hook');
    assert.ok(wh, JSON.stringify(list.body));
    assert.equal(wh.rel_vsn, '1.0.0');
    assert.deepEqual(wh.running_status, [{ node: 'hermod@127.0.0.1', status: 'stopped' }]);
    const one = await api.get(`/plugins/${WEB_HOOK}`);
    assert.match(one.body.readme, /^# web_hook/);
  });

  it('posts client, session and message events as EMQX 4.x JSON bodies', async () => {
    const ep = await endpoint();
    try {
      const conf = {
        url: ep.url,
        headers: { 'x-hook-token': 'secret' },
        rules: [
          { event: 'client.connected' },
          { event: 'client.disconnected' },
          { event: 'client.subscribe' },
          { event: 'session.subscribed' },
          { event: 'session.unsubscribed' },
          { event: 'message.publish', topics: ['wh/#'] },
          { event: 'message.delivered', topics: ['wh/#'] },
          { event: 'message.acked', topics: ['wh/#'] },
        ],
      };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, conf)).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);

      const c = await connectClient(b.port, { clientId: 'wh-c1', username: 'u1', keepalive: 30 });
      const got = collect(c);
      await subscribe(c, 'wh/#', { qos: 1 });
      await publish(c, 'other/x', 'not posted', { qos: 1 });
      await publish(c, 'wh/a', 'hello', { qos: 1 });
      await got.next(1);
      await new Promise<void>((r) => c.unsubscribe('wh/#', () => r()));
      await end(c);

      const connected = await ep.find((x) => x.action === 'client_connected', 'client_connected');
      assert.equal(connected.clientid, 'wh-c1');
      assert.equal(connected.username, 'u1');
      assert.equal(connected.keepalive, 30);
      assert.equal(connected.proto_ver, 4);
      assert.equal(connected.ipaddress, '127.0.0.1');
      assert.equal(typeof connected.connected_at, 'number');
      const sub = await ep.find((x) => x.action === 'client_subscribe', 'client_subscribe');
      assert.deepEqual(
        { topic: sub.topic, opts: sub.opts, clientid: sub.clientid },
        { topic: 'wh/#', opts: { qos: 1 }, clientid: 'wh-c1' },
      );
      await ep.find((x) => x.action === 'session_subscribed' && x.topic === 'wh/#', 'session_subscribed');
      const pub = await ep.find((x) => x.action === 'message_publish', 'message_publish');
      assert.deepEqual(
        { ...pub, ts: typeof pub.ts, id: typeof pub.id },
        {
          action: 'message_publish',
          node: 'hermod@127.0.0.1',
          from_client_id: 'wh-c1',
          from_username: 'u1',
          id: 'string',
          topic: 'wh/a',
          qos: 1,
          retain: false,
          payload: 'hello',
          payload_encoding: 'plain',
          ts: 'number',
        },
      );
      const delivered = await ep.find((x) => x.action === 'message_delivered', 'message_delivered');
      assert.equal(delivered.clientid, 'wh-c1');
      assert.equal(delivered.topic, 'wh/a');
      const acked = await ep.find((x) => x.action === 'message_acked', 'message_acked');
      assert.equal(acked.payload, 'hello');
      await ep.find((x) => x.action === 'session_unsubscribed', 'session_unsubscribed');
      const gone = await ep.find((x) => x.action === 'client_disconnected', 'client_disconnected');
      assert.equal(gone.clientid, 'wh-c1');
      assert.equal(typeof gone.reason, 'string');
      // Topic filters of the rules: nothing about other/x; no rule, no body.
      assert.ok(!ep.bodies.some((x) => x.topic === 'other/x'));
      assert.ok(!ep.bodies.some((x) => x.action === 'client_unsubscribe'));
      assert.ok((await metric(api, 'sent')) >= 8);
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      await ep.close();
    }
  });

  it('posts client_unsubscribe per filter and message_dropped with its reason, as EMQX 4.x JSON bodies', async () => {
    const ep = await endpoint();
    try {
      const conf = {
        url: ep.url,
        rules: [{ event: 'client.unsubscribe' }, { event: 'message.dropped', topics: ['nobody/#'] }],
      };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, conf)).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);

      const c = await connectClient(b.port, { clientId: 'wh-c2', username: 'u2' });
      await subscribe(c, ['wh2/a', 'wh2/b/#'], { qos: 1 });
      await new Promise<void>((r) => c.unsubscribe(['wh2/a', 'wh2/b/#'], () => r()));
      // Nobody subscribes to nobody/#: the broker drops the message.
      await publish(c, 'nobody/here', 'lost', { qos: 1 });
      await publish(c, 'elsewhere/x', 'also lost, not in the rule', { qos: 1 });
      await end(c);

      for (const topic of ['wh2/a', 'wh2/b/#']) {
        const unsub = await ep.find(
          (x) => x.action === 'client_unsubscribe' && x.topic === topic,
          `client_unsubscribe ${topic}`,
        );
        assert.deepEqual(unsub, {
          action: 'client_unsubscribe',
          node: 'hermod@127.0.0.1',
          clientid: 'wh-c2',
          username: 'u2',
          topic,
        });
      }
      const dropped = await ep.find((x) => x.action === 'message_dropped', 'message_dropped');
      assert.deepEqual(
        { ...dropped, ts: typeof dropped.ts, id: typeof dropped.id },
        {
          action: 'message_dropped',
          node: 'hermod@127.0.0.1',
          from_client_id: 'wh-c2',
          from_username: 'u2',
          id: 'string',
          topic: 'nobody/here',
          qos: 1,
          retain: false,
          payload: 'lost',
          payload_encoding: 'plain',
          ts: 'number',
          reason: 'no_subscribers',
        },
      );
      // The rule's topic filter kept elsewhere/x's drop out (queued after nobody/here's), and no event without
      // a rule was posted.
      assert.deepEqual(ep.bodies.map((x) => `${x.action} ${x.topic}`).sort(), [
        'client_unsubscribe wh2/a',
        'client_unsubscribe wh2/b/#',
        'message_dropped nobody/here',
      ]);
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      await ep.close();
    }
  });

  it('an endpoint that never answers does not hold up QoS 1 delivery; dropped events are counted', async () => {
    const ep = await endpoint(true);
    try {
      const conf = {
        url: ep.url,
        rules: [{ event: 'message.publish' }, { event: 'message.delivered' }],
        queue_max: 5,
        pool_size: 1,
        retry_max: 0,
        request_timeout_ms: 60_000,
      };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, conf)).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);
      const sub = await connectClient(b.port, { clientId: 'wh-sub' });
      const got = collect(sub);
      await subscribe(sub, 'dead/#', { qos: 1 });
      const pub = await connectClient(b.port, { clientId: 'wh-pub' });
      for (let i = 0; i < 50; i++) await publish(pub, `dead/${i}`, `m${i}`, { qos: 1 });
      const msgs = await got.next(50);
      assert.deepEqual(
        msgs.map((m) => m.payload.toString()),
        Array.from({ length: 50 }, (_, i) => `m${i}`),
      );
      // 100 events, one request in flight, five queued: the other 94 were dropped and counted.
      assert.equal(await metric(api, 'queued'), 5);
      assert.equal(await metric(api, 'dropped'), 94);
      assert.equal(await metric(api, 'dropped_queue_full'), 94);
      await end(pub);
      await end(sub);
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      await ep.close();
    }
  });

  it('a config change applies to the running plugin at once: new url, new rules, no restart', async () => {
    const first = await endpoint();
    const second = await endpoint();
    try {
      const rules = [{ event: 'message.publish', topics: ['live/#'] }];
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, { url: first.url, rules })).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);
      const c = await connectClient(b.port, { clientId: 'wh-live' });
      await publish(c, 'live/1', 'one', { qos: 1 });
      await first.find((x) => x.topic === 'live/1', 'live/1 at the first endpoint');

      const moved = { url: second.url, rules: [{ event: 'message.publish', topics: ['moved/#'] }] };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, moved)).status, 204);
      assert.equal((await api.get(`/plugins/${WEB_HOOK}`)).body.running_status[0].status, 'running');
      await publish(c, 'live/2', 'not posted any more', { qos: 1 });
      await publish(c, 'moved/1', 'two', { qos: 1 });
      await second.find((x) => x.topic === 'moved/1', 'moved/1 at the second endpoint');
      await end(c);
      assert.deepEqual(
        [...first.bodies, ...second.bodies].map((x) => x.topic),
        ['live/1', 'moved/1'],
      );
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      await first.close();
      await second.close();
    }
  });

  it('a bad config is refused with BAD_CONFIG and leaves the plugin as it was', async () => {
    const r = await api.put(`/plugins/${WEB_HOOK}/config`, { url: 'ftp://x', batch_size: 0 });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_CONFIG');
    assert.equal((await api.get(`/plugins/${WEB_HOOK}`)).body.running_status[0].status, 'stopped');
  });

  it('an uninstalled shipped plugin stays uninstalled after a restart', async () => {
    assert.equal((await api.del(`/plugins/${WEB_HOOK}`)).status, 204);
    await b.stop();
    b = await startBroker({ api: true, dataDir, config: { plugins: { shipped_dir: shipped } } });
    api = await adminClient(b);
    const list = (await api.get('/plugins')).body as Array<Record<string, unknown>>;
    assert.ok(!list.some((p) => p.name === 'web_hook'), JSON.stringify(list));
  });
});

describe('web_hook: retries, batches and topic filters', () => {
  let b: TestBroker;
  let api: ApiClient;
  let dataDir: string;
  let shipped: string;

  before(async () => {
    shipped = await packShipped();
    dataDir = mkdtempSync(join(tmpdir(), 'hermod-webhook-'));
    b = await startBroker({ api: true, dataDir, config: { plugins: { shipped_dir: shipped } } });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(shipped, { recursive: true, force: true });
  });

  it('retries a request answered 503, and sends arrays of up to batch_size bodies', async () => {
    const arrays: unknown[][] = [];
    let refusals = 1;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (refusals-- > 0) return void res.writeHead(503).end();
        arrays.push(JSON.parse(Buffer.concat(chunks).toString()) as unknown[]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const conf = {
        url,
        encoding_of_payload_field: 'base64',
        rules: [{ event: 'message.publish', topics: ['batch/+/x'] }],
        batch_size: 3,
        pool_size: 1,
        retry_max: 3,
        retry_interval_ms: 10,
      };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, conf)).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);
      const c = await connectClient(b.port, { clientId: 'wh-batch' });
      for (let i = 0; i < 7; i++) await publish(c, `batch/${i}/x`, Buffer.from([i, 0xff]), { qos: 1 });
      await publish(c, 'batch/1/y', 'filtered out', { qos: 1 });
      await end(c);
      const deadline = Date.now() + 5000;
      while (arrays.flat().length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const bodies = arrays.flat() as Array<Record<string, unknown>>;
      assert.deepEqual(
        bodies.map((x) => [x.topic, x.payload, x.payload_encoding]),
        Array.from({ length: 7 }, (_, i) => [
          `batch/${i}/x`,
          Buffer.from([i, 0xff]).toString('base64'),
          'base64',
        ]),
      );
      assert.ok(arrays.every((a) => Array.isArray(a) && a.length >= 1 && a.length <= 3));
      assert.ok(arrays.some((a) => a.length > 1));
      assert.ok((await metric(api, 'retries')) >= 1);
      assert.equal(await metric(api, 'dropped'), 0);
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("its topic filter matching agrees with the broker's", async () => {
    const { topicMatches } = await import('../../src/broker/topic.js');
    const mod = (await import(join(repoRoot(), 'plugins', 'web_hook', 'topic.js'))) as {
      filterMatches(f: string, t: string): boolean;
    };
    const level = fc.constantFrom('a', 'b', '', '$SYS');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    const filter = fc
      .array(fc.constantFrom('a', 'b', '', '+', '$SYS'), { minLength: 1, maxLength: 4 })
      .chain((l) => fc.boolean().map((hash) => (hash ? [...l, '#'] : l).join('/')));
    fc.assert(
      fc.property(filter, topic, (f, t) => mod.filterMatches(f, t) === topicMatches(f, t)),
      { numRuns: 2000 },
    );
  });
});

describe('web_hook: https endpoints', () => {
  it('posts over TLS to an endpoint whose CA is configured, and drops (counted) when the certificate is not trusted', async () => {
    const shipped = await packShipped();
    const dataDir = mkdtempSync(join(tmpdir(), 'hermod-webhook-'));
    const b = await startBroker({ api: true, dataDir, config: { plugins: { shipped_dir: shipped } } });
    const api = await adminClient(b);
    const bodies: Array<Record<string, unknown>> = [];
    const server = createHttpsServer(
      { cert: readFixture('certs', 'server.pem'), key: readFixture('certs', 'server.key') },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          bodies.push(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
          res.writeHead(204).end();
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const rules = [{ event: 'message.publish', topics: ['tls/#'] }];
    const waitBodies = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (bodies.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      const trusted = { url, rules, ssl: { cacertfile: fixture('certs', 'ca.pem') } };
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, trusted)).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);
      const c = await connectClient(b.port, { clientId: 'wh-tls' });
      await publish(c, 'tls/1', 'secret', { qos: 1 });
      await waitBodies(1);
      assert.deepEqual(
        bodies.map((x) => [x.action, x.topic, x.payload]),
        [['message_publish', 'tls/1', 'secret']],
      );

      await api.put(`/plugins/${WEB_HOOK}/stop`);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/config`, { url, rules, retry_max: 0 })).status, 204);
      assert.equal((await api.put(`/plugins/${WEB_HOOK}/start`)).status, 204);
      await publish(c, 'tls/2', 'untrusted', { qos: 1 });
      const deadline = Date.now() + 5000;
      while ((await metric(api, 'dropped_failed')) < 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(await metric(api, 'dropped_failed'), 1);
      assert.equal(bodies.length, 1);
      await end(c);
    } finally {
      await api.put(`/plugins/${WEB_HOOK}/stop`);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await b.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(shipped, { recursive: true, force: true });
    }
  });
});
