import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from './http.js';

describe('management API: publish and retainer', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({ api: true, config: { mqtt: { max_packet_size: '1KB' } } });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('publishes: 200 {id} with a subscriber, 202 no_matching_subscribers without', async () => {
    const c = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(c);
    await subscribe(c, 'http/#', { qos: 1 });
    const r = await api.post('/publish', {
      topic: 'http/1',
      payload: 'hi',
      qos: 1,
      properties: { user_properties: { k: 'v' }, content_type: 'text/plain', message_expiry_interval: 60 },
    });
    assert.equal(r.status, 200);
    assert.match(r.body.id, /^[0-9a-f]{32}$/);
    const [m] = await got.next(1);
    assert.equal(m!.payload.toString(), 'hi');
    assert.equal(m!.packet.qos, 1);
    assert.equal(m!.packet.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...m!.packet.properties?.userProperties }, { k: 'v' });
    const none = await api.post('/publish', { topic: 'nobody/listens', payload: 'x' });
    assert.equal(none.status, 202);
    assert.deepEqual(none.body, { reason_code: 16, message: 'no_matching_subscribers' });
    const b64 = await api.post('/publish', {
      topic: 'http/2',
      payload: Buffer.from([0, 1, 2]).toString('base64'),
      payload_encoding: 'base64',
    });
    assert.equal(b64.status, 200);
    const [, m2] = await got.next(2);
    assert.deepEqual([...m2!.payload], [0, 1, 2]);
    await end(c);
  });

  it('refuses a bad topic, a too large message and bad bodies with 400', async () => {
    const bad = await api.post('/publish', { topic: 'a/+/b', payload: 'x' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { reason_code: 144, message: 'topic_name_invalid' });
    const big = await api.post('/publish', { topic: 'a', payload: 'x'.repeat(2000) });
    assert.equal(big.status, 400);
    assert.deepEqual(big.body, { reason_code: 151, message: 'packet_too_large' });
    const noTopic = await api.post('/publish', { payload: 'x' });
    assert.equal(noTopic.status, 400);
    assert.equal(noTopic.body.code, 'BAD_REQUEST');
    assert.match(noTopic.body.message, /topic/);
    const qos = await api.post('/publish', { topic: 'a', payload: 'x', qos: 5 });
    assert.match(qos.body.message, /qos/);
    const enc = await api.post('/publish', { topic: 'a', payload: 'x', payload_encoding: 'hex' });
    assert.equal(enc.status, 400);
    assert.match(enc.body.message, /payload_encoding/);
  });

  it('publishes in bulk: an array of results, 202 when one had no subscriber, 400 for any bad message', async () => {
    const c = await connectClient(b.port);
    const got = collect(c);
    await subscribe(c, 'bulk/a');
    const r = await api.post('/publish/bulk', [
      { topic: 'bulk/a', payload: '1' },
      { topic: 'bulk/a', payload: '2' },
    ]);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 2);
    assert.ok(r.body.every((x: { id: string }) => typeof x.id === 'string'));
    await got.next(2);
    const partial = await api.post('/publish/bulk', [
      { topic: 'bulk/a', payload: '3' },
      { topic: 'bulk/none', payload: '4' },
    ]);
    assert.equal(partial.status, 202);
    assert.equal(partial.body[1].reason_code, 16);
    const bad = await api.post('/publish/bulk', [
      { topic: 'bulk/a', payload: '5' },
      { topic: '#', payload: '6' },
    ]);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.reason_code, 144);
    assert.equal((await api.post('/publish/bulk', [])).status, 400);
    await end(c);
  });

  it('lists, reads, matches and deletes retained messages', async () => {
    const pub = await connectClient(b.port, { clientId: 'ret-pub', username: 'rp' });
    await publish(pub, 'ret/a/1', 'one', { qos: 1, retain: true });
    await publish(pub, 'ret/b/2', 'two', { qos: 1, retain: true });
    await api.post('/publish', { topic: 'ret/a/3', payload: 'three', retain: true });
    const list = await api.get('/mqtt/retainer/messages');
    assert.equal(list.body.meta.count, 3);
    const first = list.body.data[0];
    assert.equal(first.topic, 'ret/a/1');
    assert.equal(first.from_clientid, 'ret-pub');
    assert.equal(first.from_username, 'rp');
    assert.equal(first.qos, 1);
    assert.match(first.publish_at, /^\d{4}-/);
    assert.equal(first.payload, undefined);
    const matched = await api.get(`/mqtt/retainer/messages?topic=${encodeURIComponent('ret/a/#')}`);
    assert.deepEqual(
      matched.body.data.map((m: { topic: string }) => m.topic),
      ['ret/a/1', 'ret/a/3'],
    );
    const paged = await api.get('/mqtt/retainer/messages?limit=1&page=2');
    assert.equal(paged.body.data[0].topic, 'ret/a/3');
    assert.equal(paged.body.meta.hasnext, true);

    const one = await api.get(`/mqtt/retainer/message/${encodeURIComponent('ret/b/2')}`);
    assert.equal(one.status, 200);
    assert.equal(Buffer.from(one.body.payload, 'base64').toString(), 'two');
    assert.equal((await api.get('/mqtt/retainer/message/ret%2Fnone')).status, 404);
    assert.equal((await api.del(`/mqtt/retainer/message/${encodeURIComponent('ret/b/2')}`)).status, 204);
    assert.equal((await api.del(`/mqtt/retainer/message/${encodeURIComponent('ret/b/2')}`)).status, 404);
    // The deletion is real: a new subscriber gets nothing for that topic.
    const s = await connectClient(b.port);
    const got = collect(s);
    await subscribe(s, 'ret/#');
    await got.next(2);
    assert.deepEqual(got.messages.map((m) => m.topic).sort(), ['ret/a/1', 'ret/a/3']);
    assert.equal((await api.del('/mqtt/retainer/messages')).status, 204);
    assert.equal((await api.get('/mqtt/retainer/messages')).body.meta.count, 0);
    await Promise.all([end(pub), end(s)]);
  });

  it('reads and updates the retainer config (validated, applied)', async () => {
    const cfg = await api.get('/mqtt/retainer');
    assert.equal(cfg.status, 200);
    assert.equal(cfg.body.enable, true);
    assert.equal(cfg.body.max_payload_size, '1MB');
    const upd = await api.put('/mqtt/retainer', { ...cfg.body, max_payload_size: '2KB' });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.max_payload_size, '2KB');
    assert.equal((await api.get('/configs/retainer')).body.max_payload_size, '2KB');
    const bad = await api.put('/mqtt/retainer', { ...cfg.body, max_payload_size: 'lots', unknown_key: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'UPDATE_FAILED');
    assert.match(bad.body.message, /retainer\.max_payload_size/);
    assert.match(bad.body.message, /retainer\.unknown_key/);
    assert.equal(
      (await api.get('/mqtt/retainer')).body.max_payload_size,
      '2KB',
      'unchanged after a refused update',
    );
  });
});
