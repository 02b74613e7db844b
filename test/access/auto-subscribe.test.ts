/**
 * Subscriptions made at connect: EMQX 5's `auto_subscribe.topics` (placeholders `${clientid}`,
 * `${username}`, `${host}` and 4.x's `%c`, `%u`) and the per-user Redis hash `mqtt_subs:<username>` written
 * with the HSETs of the 3.x Redis plugin's documentation, against a real Redis. Clients never send SUBSCRIBE:
 * mqtt.js and mosquitto_sub receive what is published to the topics, and the API lists the subscriptions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, run, sleep, startProcess } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { startRedis } from '../helpers/servers/redis.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';

interface Sub {
  topic: string;
  qos: number;
  nl: number;
  rap: number;
  rh: number;
}

describe('auto_subscribe: configured topics and Redis mqtt_subs hashes', () => {
  let redis: ServerProcess;
  let b: TestBroker;
  let api: ApiClient;

  /** The client's subscriptions once there are `n` (the Redis ones follow the connect asynchronously). */
  async function subsOf(clientid: string, n: number): Promise<Sub[]> {
    for (let i = 0; i < 250; i++) {
      const res = await api.get(`/clients/${clientid}/subscriptions`);
      if (res.status === 200 && (res.body as Sub[]).length >= n)
        return (res.body as Sub[]).sort((a, b) => a.topic.localeCompare(b.topic));
      await sleep(20);
    }
    throw new Error(`${clientid} never had ${n} subscriptions`);
  }

  before(async () => {
    redis = await startRedis();
    const r = new Redis({ port: redis.port, host: '127.0.0.1' });
    await r.call('HSET', 'mqtt_subs:alice', 'topic1', '0');
    await r.call('HSET', 'mqtt_subs:alice', 'topic2', '1');
    await r.call('HSET', 'mqtt_subs:alice', 'topic3', '2');
    r.disconnect();
    b = await startBroker({
      api: true,
      config: {
        auto_subscribe: {
          topics: [
            { topic: 'dev/${clientid}/cmd', qos: 1 },
            { topic: 'user/%u/inbox', qos: 2, nl: 1, rap: 1, rh: 1 },
            { topic: 'from/${host}', qos: 0 },
          ],
          redis: { server: `127.0.0.1:${redis.port}`, cmd: 'HGETALL mqtt_subs:%u' },
        },
      },
    });
    api = await adminClient(b);
  });
  after(async () => {
    await b?.stop();
    await redis?.stop();
  });

  it('subscribes an mqtt.js client at connect: API shows the topics, messages arrive', async () => {
    const pub = await connectClient(b.port, { clientId: 'as-pub' });
    // A retained message on a Redis topic reaches the client as a subscribe would deliver it.
    await publish(pub, 'topic3', 'kept', { qos: 1, retain: true });
    const c = await connectClient(b.port, { clientId: 'as-1', username: 'alice', protocolVersion: 5 });
    const got = collect(c);
    const subs = await subsOf('as-1', 6);
    assert.deepEqual(
      subs.map((s) => [s.topic, s.qos, s.nl, s.rap, s.rh]),
      [
        ['dev/as-1/cmd', 1, 0, 0, 0],
        ['from/127.0.0.1', 0, 0, 0, 0],
        ['topic1', 0, 0, 0, 0],
        ['topic2', 1, 0, 0, 0],
        ['topic3', 2, 0, 0, 0],
        ['user/alice/inbox', 2, 1, 1, 1],
      ],
    );
    await publish(pub, 'dev/as-1/cmd', 'reboot', { qos: 1 });
    await publish(pub, 'topic2', 'hello', { qos: 1 });
    const msgs = await got.next(3);
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload.toString()]).sort(), [
      ['dev/as-1/cmd', 'reboot'],
      ['topic2', 'hello'],
      ['topic3', 'kept'],
    ]);
    await publish(pub, 'topic3', '', { qos: 1, retain: true });
    await end(c);
    await end(pub);
  });

  it('skips a topic whose placeholder has no value, and users without a hash get the fixed list', async () => {
    const c = await connectClient(b.port, { clientId: 'as-anon' });
    await subsOf('as-anon', 2);
    // Give the (empty) Redis answer time to come back, then check nothing else was added.
    await sleep(200);
    assert.deepEqual(
      (await subsOf('as-anon', 2)).map((s) => s.topic),
      ['dev/as-anon/cmd', 'from/127.0.0.1'],
    );
    await end(c);
  });

  it('delivers to a mosquitto_sub client on its automatic topics', async () => {
    const sub = startProcess('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv311'],
      ...['-i', 'as-mosq', '-u', 'alice', '-t', 'unrelated/topic', '-v', '-C', '2'],
    ]);
    try {
      await subsOf('as-mosq', 7);
      const pubArgs = ['-h', '127.0.0.1', '-p', String(b.port), '-q', '1'];
      assert.equal(
        (await run('mosquitto_pub', [...pubArgs, '-t', 'user/alice/inbox', '-m', 'mail'])).code,
        0,
      );
      assert.equal((await run('mosquitto_pub', [...pubArgs, '-t', 'topic1', '-m', 'one'])).code, 0);
      assert.deepEqual((await sub.waitLines(2, 10_000)).sort(), ['topic1 one', 'user/alice/inbox mail']);
    } finally {
      sub.kill();
    }
  });

  it('GET / PUT /api/v5/mqtt/auto_subscribe reads and replaces the topics live; a bad topic is a 400', async () => {
    const before = await api.get('/mqtt/auto_subscribe');
    assert.equal(before.status, 200);
    assert.deepEqual(
      (before.body as Sub[]).map((t) => t.topic),
      ['dev/${clientid}/cmd', 'user/%u/inbox', 'from/${host}'],
    );
    const put = await api.put('/mqtt/auto_subscribe', [{ topic: 'fleet/${clientid}', qos: 1 }]);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, [{ topic: 'fleet/${clientid}', qos: 1, rh: 0, rap: 0, nl: 0 }]);
    const c = await connectClient(b.port, { clientId: 'as-live' });
    assert.deepEqual(
      (await subsOf('as-live', 1)).map((s) => s.topic),
      ['fleet/as-live'],
    );
    await end(c);
    const bad = await api.put('/mqtt/auto_subscribe', [{ topic: 'a/#/b' }]);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /invalid topic a\/#\/b/);
    assert.deepEqual((await api.get('/mqtt/auto_subscribe')).body, put.body);
  });

  it('refuses a bad Redis command, and a Redis that is down costs a client only its Redis topics', async () => {
    const bad = await api.put('/configs/auto_subscribe', {
      topics: [],
      redis: { server: `127.0.0.1:${redis.port}`, cmd: 'GET mqtt_subs:%u' },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /unsupported redis command "GET"; use HGETALL/);
    await redis.kill();
    const c = await connectClient(b.port, { clientId: 'as-down', username: 'alice' });
    assert.deepEqual(
      (await subsOf('as-down', 1)).map((s) => s.topic),
      ['fleet/as-down'],
    );
    assert.ok(c.connected);
    await end(c);
    redis = await redis.restart();
  });
});
