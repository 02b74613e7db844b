/**
 * The CoAP gateway's resources and message layer through a raw UDP peer: EMQX's response codes and texts,
 * connection mode, Observe, de-duplication, CON notifications retransmitted until acknowledged, Reset,
 * authentication and authorization, and bad datagrams answered as RFC 7252 says.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HookPriority } from '../../src/broker/hooks.js';
import { type CoapMessage, encodeMessage, Opt, option, readUint } from '../../src/gateway/coap/message.js';
import { collect, connectClient } from '../helpers/clients.js';
import { RawCoap, request, startCoapBroker } from './coap-helpers.js';
import { until } from './helpers.js';

type B = Awaited<ReturnType<typeof startCoapBroker>>;
const body = (m: CoapMessage): string => m.payload.toString();

describe('coap: resources and message layer (raw peer)', () => {
  let b: B;
  let c: RawCoap;
  const offs: Array<() => void> = [];
  before(async () => {
    b = await startCoapBroker();
  });
  afterEach(() => {
    for (const off of offs.splice(0)) off();
    c?.close();
  });
  after(() => b.stop());

  it('publish: 2.04 empty; no topic ⇒ 4.00 "invalid topic"; PUT/DELETE ⇒ 4.05; unknown resource ⇒ 4.00', async () => {
    c = await RawCoap.open(b.coapPort);
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('#');
    const ok = await c.ask({ code: '0.02', path: '/ps/a/b', payload: 'hi', query: ['r=1', 'q=0'] });
    assert.equal(ok.code, '2.04');
    assert.equal(ok.payload.length, 0);
    const [msg] = await box.next(1);
    assert.equal(msg!.topic, 'a/b');
    assert.equal(msg!.packet.retain, false); // a retained publish is delivered to a live subscriber without the flag
    const none = await c.ask({ code: '0.02', path: '/ps' });
    assert.deepEqual([none.code, body(none)], ['4.00', 'invalid topic']);
    assert.equal((await c.ask({ code: '0.03', path: '/ps/a' })).code, '4.05');
    assert.equal((await c.ask({ code: '0.04', path: '/ps/a' })).code, '4.05');
    assert.equal((await c.ask({ code: '0.01', path: '/other' })).code, '4.00');
    // Empty segments are kept: /ps//abc is the topic "/abc".
    await c.ask({ code: '0.02', path: '/ps//abc', payload: 'x' });
    const [, second] = await box.next(2);
    assert.equal(second!.topic, '/abc');
    await m.endAsync();
  });

  it('No-Response (RFC 7967): a NON publish that asks for no 2.xx gets none, an error still comes', async () => {
    c = await RawCoap.open(b.coapPort);
    const quiet = { number: Opt.NoResponse, value: Buffer.from([2]) };
    const silent = c.send(
      request({
        type: 'NON',
        code: '0.02',
        path: '/ps/nr',
        payload: 'x',
        options: [quiet],
        token: Buffer.from('nr1'),
      }),
    );
    const err = await c.ask({
      type: 'NON',
      code: '0.02',
      path: '/ps',
      options: [quiet],
      token: Buffer.from('nr2'),
    });
    assert.equal(err.code, '4.00');
    assert.ok(!c.received.some((x) => x.token.equals(silent.token)));
  });

  it('observe: 2.05 with Observe 0 and the token; notifications count up; Observe 1 ⇒ 2.07; no token ⇒ 4.00', async () => {
    c = await RawCoap.open(b.coapPort);
    const token = Buffer.from('tok1');
    const reg = await c.ask({ code: '0.01', path: '/ps/obs/+', observe: 0, token, type: 'NON' });
    assert.equal(reg.code, '2.05');
    assert.equal(readUint(option(reg, Opt.Observe)!), 0);
    const m = await connectClient(b.port);
    await m.publishAsync('obs/1', 'one');
    await m.publishAsync('obs/2', 'two');
    const n1 = await c.next((x) => body(x) === 'one');
    const n2 = await c.next((x) => body(x) === 'two');
    assert.ok(n1.token.equals(token) && n2.token.equals(token));
    assert.equal(n1.type, 'NON'); // QoS 0 ⇒ NON under notify_type = qos
    assert.ok(readUint(option(n2, Opt.Observe)!) > readUint(option(n1, Opt.Observe)!));
    const un = await c.ask({ code: '0.01', path: '/ps/obs/+', observe: 1, token });
    assert.equal(un.code, '2.07');
    const noTok = await c.ask({ code: '0.01', path: '/ps/x', observe: 0, token: Buffer.alloc(0) });
    assert.deepEqual([noTok.code, body(noTok)], ['4.00', 'observe without token']);
    const bad = await c.ask({ code: '0.01', path: '/ps/x', observe: 5 });
    assert.equal(bad.code, '4.00');
    await m.endAsync();
  });

  it('observing a topic with a retained message: the registration answer comes first, then the retained notification', async () => {
    const m = await connectClient(b.port);
    await m.publishAsync('ret/a', 'kept', { retain: true, qos: 1 });
    c = await RawCoap.open(b.coapPort);
    const reg = await c.ask({ code: '0.01', path: '/ps/ret/a', observe: 0, token: Buffer.from('rt') });
    const n = await c.next((x) => body(x) === 'kept');
    assert.ok(c.received.indexOf(reg) < c.received.indexOf(n));
    assert.ok(readUint(option(n, Opt.Observe)!) > 0);
    await m.publishAsync('ret/a', '', { retain: true, qos: 1 });
    await m.endAsync();
  });

  it('a QoS 1 notification is CON and is retransmitted with the same message id until acknowledged', async () => {
    c = await RawCoap.open(b.coapPort);
    await c.ask({ code: '0.01', path: '/ps/con', observe: 0, query: ['qos=1'] });
    const m = await connectClient(b.port);
    await m.publishAsync('con', 'important', { qos: 1 });
    const first = await c.next((x) => body(x) === 'important');
    assert.equal(first.type, 'CON');
    const from = c.received.indexOf(first) + 1;
    // Not acknowledged: ACK_TIMEOUT (2–3 s) later the same message comes again.
    const again = await c.next((x) => x.messageId === first.messageId, 6000, from);
    assert.equal(body(again), 'important');
    c.send({
      type: 'ACK',
      code: '0.00',
      messageId: first.messageId,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
    });
    // A Reset to the next notification ends the observation and its subscription.
    await m.publishAsync('con', 'next', { qos: 1 });
    const next = await c.next((x) => body(x) === 'next');
    c.send({
      type: 'RST',
      code: '0.00',
      messageId: next.messageId,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
    });
    await until(
      () => ![...b.node.broker.registry.records('coap')].some((r) => r.session.subscriptions.has('con')),
      3000,
      'unsubscribed',
    );
    await m.endAsync();
  });

  it('a duplicate CON gets the cached reply and is published once', async () => {
    c = await RawCoap.open(b.coapPort);
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('dup');
    const req = request({ code: '0.02', path: '/ps/dup', payload: 'once' });
    c.send(req);
    const first = await c.next((x) => x.messageId === req.messageId);
    // The retransmission (same message id) gets the very same reply and is not published again.
    c.send(req);
    const again = await c.next((x) => x.messageId === req.messageId, 4000, c.received.indexOf(first) + 1);
    assert.deepEqual(encodeMessage(again), encodeMessage(first));
    const marker = await c.ask({ code: '0.02', path: '/ps/dup', payload: 'marker' });
    assert.equal(marker.code, '2.04');
    const got = await box.next(2);
    assert.deepEqual(
      got.map((g) => g.payload.toString()),
      ['once', 'marker'],
    );
    await m.endAsync();
  });

  it('bad datagrams: ping, truncated, token length > 8, payload marker without payload, bad options, unknown critical option', async () => {
    c = await RawCoap.open(b.coapPort);
    const reset = async (buf: Buffer, mid: number) => {
      const from = c.received.length;
      c.sendRaw(buf);
      const r = await c.next((x) => x.messageId === mid, 4000, from);
      assert.equal(r.type, 'RST', `datagram ${buf.toString('hex')}`);
    };
    await reset(Buffer.from([0x40, 0x00, 0x12, 0x34]), 0x1234); // CoAP ping
    await reset(Buffer.from([0x49, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 7); // TKL 9
    await reset(Buffer.from([0x40, 0x02, 0x00, 0x08, 0xff]), 8); // marker, no payload
    await reset(Buffer.from([0x40, 0x01, 0x00, 0x09, 0xf1, 0x00]), 9); // option delta 15
    await reset(Buffer.from([0x40, 0x01, 0x00, 0x0a, 0xbd]), 10); // truncated option length
    c.sendRaw(Buffer.from([0x42, 0x01, 0x00])); // 3 bytes: no message id to answer, dropped
    const critical = await c.ask({
      code: '0.02',
      path: '/ps/t',
      options: [{ number: 2049 + 2, value: Buffer.from('x') }],
    });
    assert.equal(critical.code, '4.02');
    // A malformed NON is ignored; the peer keeps working.
    c.sendRaw(Buffer.from([0x59, 0x01, 0x00, 0x0b]));
    assert.equal((await c.ask({ code: '0.02', path: '/ps/t', payload: 'still fine' })).code, '2.04');
    assert.ok(!c.received.some((x) => x.messageId === 0x0b));
    const g = b.node.gateways.get('coap')!;
    assert.ok(g.metrics.get('packets.malformed') >= 4);
  });

  it('authorization: a denied publish or observe ⇒ 4.01', async () => {
    offs.push(
      b.node.hooks.add('client.authorize', (ci, _a, topic) =>
        ci.protocol === 'coap' && topic.startsWith('secret/')
          ? { stop: { result: 'deny', from: 'test' } }
          : undefined,
      ),
    );
    c = await RawCoap.open(b.coapPort);
    assert.equal((await c.ask({ code: '0.02', path: '/ps/secret/x', payload: 'x' })).code, '4.01');
    assert.equal((await c.ask({ code: '0.01', path: '/ps/secret/#', observe: 0 })).code, '4.01');
  });

  it('connection mode: POST ⇒ 2.01 token; requests need it; PUT heartbeat 2.04; DELETE 2.02 closes', async () => {
    c = await RawCoap.open(b.coapPort);
    const q = ['clientid=cm-1', 'username=bob'];
    const created = await c.ask({ code: '0.02', path: '/mqtt/connection', query: q });
    assert.equal(created.code, '2.01');
    const token = body(created);
    assert.match(token, /^\d+$/);
    const again = await c.ask({ code: '0.02', path: '/mqtt/connection', query: q });
    assert.deepEqual([again.code, body(again)], ['4.00', 'Bad Request: client has connected']);
    // Without a token: silently dropped. The next request's answer proves the first was seen and ignored.
    const dropped = c.send(request({ code: '0.02', path: '/ps/cm', payload: 'x' }));
    const wrong = await c.ask({ code: '0.02', path: '/ps/cm', query: ['c=cm-1', 't=1'] });
    assert.deepEqual([wrong.code, body(wrong)], ['4.00', 'Missing token or clientid in connection mode']);
    assert.ok(!c.received.some((x) => x.messageId === dropped.messageId));
    assert.equal(
      (await c.ask({ code: '0.02', path: '/ps/cm', query: ['c=cm-1', `t=${token}`], payload: 'ok' })).code,
      '2.04',
    );
    assert.equal(
      (await c.ask({ code: '0.03', path: '/mqtt/connection', query: ['clientid=cm-1', `token=${token}`] }))
        .code,
      '2.04',
    );
    assert.ok(b.node.gateways.get('coap')!.connection('cm-1') !== undefined);
    assert.equal(
      (await c.ask({ code: '0.04', path: '/mqtt/connection', query: ['clientid=cm-1', `token=${token}`] }))
        .code,
      '2.02',
    );
    await until(() => b.node.gateways.get('coap')!.connection('cm-1') === undefined, 3000, 'closed');
  });

  it('a slow answer (an authenticator taking over a second) is an empty ACK and a separate CON response', async () => {
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        async (cred) => {
          if (cred.clientid !== 'slow-1') return undefined;
          await new Promise((r) => setTimeout(r, 1200));
          return { stop: { kind: 'ok' } };
        },
        HookPriority.AUTHN + 1,
      ),
    );
    c = await RawCoap.open(b.coapPort);
    const req = c.send(
      request({
        code: '0.02',
        path: '/ps/slow',
        query: ['c=slow-1'],
        payload: 'x',
        token: Buffer.from('slw'),
      }),
    );
    const ack = await c.next((x) => x.messageId === req.messageId);
    assert.deepEqual([ack.type, ack.code], ['ACK', '0.00']);
    const res = await c.next((x) => x.type === 'CON' && x.token.equals(req.token));
    assert.equal(res.code, '2.04');
    c.send({
      type: 'ACK',
      code: '0.00',
      messageId: res.messageId,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
    });
  });

  it('connection mode: missing clientid ⇒ 4.00; refused login ⇒ 4.01 "Login Failed: …" (EMQX docs; 5.8 answers 4.00)', async () => {
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        (cred) =>
          cred.protocol === 'coap' && cred.password?.toString() !== 'good'
            ? { stop: { kind: 'error', reason: 'not_authorized' } }
            : undefined,
        HookPriority.AUTHN + 1,
      ),
    );
    c = await RawCoap.open(b.coapPort);
    assert.equal((await c.ask({ code: '0.02', path: '/mqtt/connection' })).code, '4.00');
    const bad = await c.ask({ code: '0.02', path: '/mqtt/connection', query: ['c=x1', 'p=bad'] });
    assert.equal(bad.code, '4.01');
    assert.match(body(bad), /^Login Failed: /);
    assert.equal(
      (await c.ask({ code: '0.02', path: '/mqtt/connection', query: ['c=x1', 'p=good'] })).code,
      '2.01',
    );
  });
});

describe('coap: connection_required and notify_type non', () => {
  it('without a connection every request is dropped or refused; NON notifications release QoS 1', async () => {
    const b = await startCoapBroker({ coap: { connection_required: true, notify_type: 'non' } });
    const c = await RawCoap.open(b.coapPort);
    try {
      const dropped = c.send(request({ code: '0.02', path: '/ps/t', payload: 'x' }));
      const refused = await c.ask({ code: '0.02', path: '/ps/t', query: ['t=123'] });
      assert.deepEqual(
        [refused.code, body(refused)],
        ['4.00', 'Missing token or clientid in connection mode'],
      );
      assert.ok(!c.received.some((x) => x.messageId === dropped.messageId));
      const token = body(await c.ask({ code: '0.02', path: '/mqtt/connection', query: ['c=nn'] }));
      await c.ask({ code: '0.01', path: '/ps/n', observe: 0, query: ['c=nn', `t=${token}`, 'q=1'] });
      const m = await connectClient(b.port);
      await m.publishAsync('n', 'p1', { qos: 1 });
      await m.publishAsync('n', 'p2', { qos: 1 });
      const n2 = await c.next((x) => body(x) === 'p2');
      assert.equal(n2.type, 'NON');
      await m.endAsync();
      // Nothing is left waiting for an acknowledgement that a NON never gets.
      const rec = b.node.broker.registry.get('coap', 'nn')!;
      await until(() => rec.session.inflight.size === 0, 3000, 'inflight released');
    } finally {
      c.close();
      await b.stop();
    }
  });
});

describe('coap: connectionless lifetime (heartbeat 1s) and floods', () => {
  it('a quiet peer that observes nothing is closed; a quiet observer gets its next notification as CON', async () => {
    const b = await startCoapBroker({
      coap: { heartbeat: '1s', listeners: { udp: { default: { max_connections: 20 } } } },
    });
    const idle = await RawCoap.open(b.coapPort);
    const obs = await RawCoap.open(b.coapPort);
    try {
      await idle.ask({ code: '0.02', path: '/ps/lt', query: ['c=idle-1'], payload: 'x' });
      await obs.ask({ code: '0.01', path: '/ps/lt', query: ['c=obs-1'], observe: 0, type: 'NON' });
      const gw = b.node.gateways.get('coap')!;
      await until(() => gw.connection('idle-1') === undefined, 5000, 'idle peer closed');
      assert.ok(gw.connection('obs-1') !== undefined);
      const m = await connectClient(b.port);
      await m.publishAsync('lt', 'are you there');
      const n = await obs.next((x) => body(x) === 'are you there');
      assert.equal(n.type, 'CON');
      await m.endAsync();
      // A flood from many source ports: past max_connections new peers are refused and counted, the
      // observer already there is unaffected.
      const many = await Promise.all(Array.from({ length: 40 }, () => RawCoap.open(b.coapPort)));
      for (const p of many) p.send(request({ type: 'NON', code: '0.02', path: '/ps/flood', payload: 'f' }));
      await until(() => gw.metrics.get('client.max_connections_exceeded') > 0, 3000, 'refusals counted');
      assert.equal((await obs.ask({ code: '0.02', path: '/ps/lt2', payload: 'ok' })).code, '2.04');
      for (const p of many) p.close();
    } finally {
      idle.close();
      obs.close();
      await b.stop();
    }
  });
});
