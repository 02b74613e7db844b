/** STOMP over TCP with a raw client: login and versions, heart-beats, subscribe/send, receipts, disconnect. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collect, connectClient } from '../helpers/clients.js';
import { sleep, startStompBroker } from './helpers.js';
import { StompRaw } from './stomp-client.js';

describe('stomp: connection', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker();
  });
  after(() => b.stop());

  it('CONNECT ⇒ CONNECTED with version, mirrored heart-beat and server; DISCONNECT receipt', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.0,1.1,1.2', 'heart-beat': '1000,2000' });
    const f = await c.next();
    assert.equal(f.command, 'CONNECTED');
    assert.equal(f.headers.version, '1.2');
    assert.equal(f.headers['heart-beat'], '2000,1000');
    assert.equal(f.headers.server, 'emqx-stomp/1.2');
    c.send('DISCONNECT', { receipt: '12345' });
    const r = await c.next('RECEIPT');
    assert.deepEqual(r.headers, { 'receipt-id': '12345' });
    await c.waitClosed();
  });

  it('negotiates the best common version; none offered means 1.0; STOMP acts as CONNECT', async () => {
    for (const [offer, want] of [
      [undefined, '1.0'],
      ['1.1', '1.1'],
      ['1.0,1.1', '1.1'],
      ['1.2,3.0', '1.2'],
    ] as const) {
      const c = await StompRaw.open(b.stompPort);
      c.send('STOMP', offer === undefined ? {} : { 'accept-version': offer });
      const f = await c.next();
      assert.equal(f.command, 'CONNECTED');
      assert.equal(f.headers.version, want);
      c.destroy();
    }
  });

  it('unsupported versions ⇒ ERROR "Login Failed: Supported protocol versions < 1.2" and close', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '2.0,2.1' });
    const f = await c.next();
    assert.equal(f.command, 'ERROR');
    assert.equal(f.body, 'Login Failed: Supported protocol versions < 1.2');
    await c.waitClosed();
  });

  it('a second CONNECT is an error; frames before CONNECT are refused', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2' });
    assert.equal((await c.next()).command, 'ERROR');
    await c.waitClosed();
    const d = await StompRaw.open(b.stompPort);
    d.send('SEND', { destination: 'a' }, 'x');
    const e = await d.next();
    assert.equal(e.command, 'ERROR');
    assert.equal(e.body, 'Not connected');
    await d.waitClosed();
  });

  it('heart-beats: the server sends EOLs every cy ms and closes a client silent for ~2·cx', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '500,200' });
    assert.equal((await c.next()).command, 'CONNECTED');
    const opened = Date.now();
    await c.waitClosed(8000);
    assert.ok(c.heartbeats >= 1, `got ${c.heartbeats} heart-beats`);
    assert.ok(Date.now() - opened >= 700, 'closed after at least one tolerated silent interval');
  });

  it('heart-beats from the client keep the connection open', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '300,0' });
    assert.equal((await c.next()).command, 'CONNECTED');
    for (let i = 0; i < 8; i++) {
      c.write('\n');
      await sleep(150);
    }
    assert.equal(c.closed, false);
    c.destroy();
  });

  it('the clients API keepalive is cx/1000', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '10000,0', 'client-id': 'ka-10' });
    assert.equal((await c.next()).command, 'CONNECTED');
    const r = b.node.gateways.get('stomp')!.clients.get('ka-10')!;
    assert.equal(r.channel?.connInfo.keepalive, 10);
    c.destroy();
  });
});

describe('stomp: messaging', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker();
  });
  after(() => b.stop());

  it('SUBSCRIBE + SEND: MESSAGE with subscription, message-id, destination, pass-through headers', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: '0', destination: '/queue/foo', receipt: 'r1' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'r1');
    c.send(
      'SEND',
      { destination: '/queue/foo', 'user-defined': 'emq', 'content-type': 'text/html', receipt: 'r2' },
      'hello',
    );
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'r2');
    const m = await c.next('MESSAGE');
    assert.equal(m.headers.destination, '/queue/foo');
    assert.equal(m.headers.subscription, '0');
    assert.equal(m.headers['message-id'], '1');
    assert.equal(m.headers['user-defined'], 'emq');
    assert.equal(m.headers['content-type'], 'text/html');
    assert.equal(m.headers.ack, undefined);
    assert.equal(m.body, 'hello');
    c.send('SEND', { destination: '/queue/foo' }, 'two');
    const m2 = await c.next('MESSAGE');
    assert.equal(m2.headers['message-id'], '2');
    assert.equal(m2.headers['content-type'], 'text/plain');
    c.send('UNSUBSCRIBE', { id: '0', receipt: 'u' });
    await c.next('RECEIPT');
    c.send('SEND', { destination: '/queue/foo' }, 'gone');
    assert.ok(await c.quiet(300));
    c.destroy();
  });

  it('MQTT ⇄ STOMP both ways (content type and headers carried)', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 'a', destination: 'from/mqtt/+', receipt: 'x' });
    await c.next('RECEIPT');
    const m = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(m);
    await m.subscribeAsync('from/stomp');
    await m.publishAsync('from/mqtt/1', 'to-stomp', { properties: { contentType: 'application/json' } });
    const msg = await c.next('MESSAGE');
    assert.equal(msg.body, 'to-stomp');
    assert.equal(msg.headers.destination, 'from/mqtt/1');
    assert.equal(msg.headers['content-type'], 'application/json');
    c.send('SEND', { destination: 'from/stomp', k: 'v', 'content-type': 'text/x' }, 'to-mqtt');
    const [r] = await got.next(1);
    assert.equal(r!.payload.toString(), 'to-mqtt');
    assert.equal(r!.packet.properties?.contentType, 'text/x');
    assert.deepEqual({ ...r!.packet.properties?.userProperties }, { k: 'v' });
    await m.endAsync();
    c.destroy();
  });

  it('a content-length body with NUL bytes arrives intact', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('bin/x');
    const body = Buffer.from([0, 1, 2, 0, 255]);
    c.write(
      Buffer.concat([
        Buffer.from(`SEND\ndestination:bin/x\ncontent-length:${body.length}\n\n`),
        body,
        Buffer.from([0]),
      ]),
    );
    const [r] = await got.next(1);
    assert.deepEqual(r!.payload, body);
    await m.endAsync();
    c.destroy();
  });

  it('wildcards (+, #) and a leading slash work in SUBSCRIBE', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: '1', destination: 'w/+/x', receipt: 'a' });
    c.send('SUBSCRIBE', { id: '2', destination: '/q/#', receipt: 'b' });
    await c.next('RECEIPT');
    await c.next('RECEIPT');
    c.send('SEND', { destination: 'w/1/x' }, 'one');
    c.send('SEND', { destination: '/q/a/b' }, 'two');
    const m1 = await c.next('MESSAGE');
    const m2 = await c.next('MESSAGE');
    assert.deepEqual([m1, m2].map((m) => `${m.headers.subscription}:${m.headers.destination}`).sort(), [
      '1:w/1/x',
      '2:/q/a/b',
    ]);
    c.destroy();
  });

  it('ack=client / client-individual MESSAGEs carry an ack header; ACK and NACK are receipted', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 'c', destination: 'ack/t', ack: 'client', receipt: 's' });
    await c.next('RECEIPT');
    c.send('SEND', { destination: 'ack/t' }, 'x');
    const m = await c.next('MESSAGE');
    assert.equal(m.headers.ack, '1');
    c.send('ACK', { id: m.headers.ack!, receipt: 'ack1' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'ack1');
    c.send('NACK', { id: m.headers.ack!, receipt: 'nack1' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'nack1');
    c.destroy();
  });

  it('a reused subscription id or topic is an ERROR and closes', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: '0', destination: '/queue/foo' });
    c.send('SUBSCRIBE', { id: '0', destination: '/queue/bar' });
    const e = await c.next('ERROR');
    assert.equal(e.body, 'Subscription id 0 is in used');
    await c.waitClosed();
    const { c: d } = await StompRaw.login(b.stompPort);
    d.send('SUBSCRIBE', { id: '0', destination: '/queue/foo' });
    d.send('SUBSCRIBE', { id: '1', destination: '/queue/foo' });
    assert.equal((await d.next('ERROR')).body, 'Topic /queue/foo already in subscribed');
    await d.waitClosed();
  });

  it('transactions: SENDs wait for COMMIT and then go in order; ABORT drops them', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 't', destination: 'tx/t', receipt: 's' });
    await c.next('RECEIPT');
    c.send('BEGIN', { transaction: 'tx1' });
    c.send('SEND', { destination: 'tx/t', transaction: 'tx1' }, 'first');
    c.send('SEND', { destination: 'tx/t', transaction: 'tx1' }, 'second');
    assert.ok(await c.quiet(300));
    c.send('COMMIT', { transaction: 'tx1', receipt: 'c1' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'c1');
    assert.equal((await c.next('MESSAGE')).body, 'first');
    assert.equal((await c.next('MESSAGE')).body, 'second');
    c.send('BEGIN', { transaction: 'tx2' });
    c.send('SEND', { destination: 'tx/t', transaction: 'tx2' }, 'never');
    c.send('ABORT', { transaction: 'tx2', receipt: 'a2' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'a2');
    assert.ok(await c.quiet(300));
    c.send('DISCONNECT', { receipt: 'bye' });
    await c.next('RECEIPT');
    await c.waitClosed();
  });

  it('unknown or duplicate transactions: ERROR with receipt-id, connection stays open', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('ABORT', { transaction: 'tx1', receipt: 'r9' });
    const e = await c.next('ERROR');
    assert.equal(e.body, 'Transaction tx1 not found');
    assert.equal(e.headers['receipt-id'], 'r9');
    c.send('BEGIN', { transaction: 'dup' });
    c.send('BEGIN', { transaction: 'dup' });
    assert.equal((await c.next('ERROR')).body, 'Transaction dup already started');
    c.send('SEND', { destination: 'x', transaction: 'nope' }, 'y');
    assert.equal((await c.next('ERROR')).body, 'Transaction nope not found');
    c.send('DISCONNECT', { receipt: 'still-open' });
    assert.equal((await c.next('RECEIPT')).headers['receipt-id'], 'still-open');
    c.destroy();
  });

  it('1000 SENDs all reach an MQTT subscriber, in order', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('many/t');
    let data = '';
    for (let i = 0; i < 1000; i++) data += `SEND\ndestination:many/t\n\n${i}\0`;
    c.write(data);
    const all = await got.next(1000, 20_000);
    assert.deepEqual(
      all.map((x) => Number(x.payload.toString())),
      [...Array(1000).keys()],
    );
    await m.endAsync();
    c.destroy();
  });

  it('a SEND split after its headers, with a pause, is still delivered', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('sticky/t');
    c.write('SEND\ndestination:sticky/t\ncontent-length:5\n\n');
    await sleep(300);
    c.write('hello\0');
    const [r] = await got.next(1);
    assert.equal(r!.payload.toString(), 'hello');
    await m.endAsync();
    c.destroy();
  });

  it('a retained MQTT message is delivered on SUBSCRIBE', async () => {
    const m = await connectClient(b.port);
    await m.publishAsync('ret/t', 'kept', { retain: true, qos: 1 });
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 'r', destination: 'ret/t' });
    const msg = await c.next('MESSAGE');
    assert.equal(msg.body, 'kept');
    assert.equal(msg.headers.subscription, 'r');
    await m.publishAsync('ret/t', '', { retain: true, qos: 1 });
    await m.endAsync();
    c.destroy();
  });
});

describe('stomp: transaction sweep and mountpoint', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker({ stomp: { transaction_timeout: '300ms', mountpoint: 'stomp/' } });
  });
  after(() => b.stop());

  it('[Q] an open transaction older than transaction_timeout is aborted (the documented intent)', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 's', destination: 'sw/t', receipt: 'r' });
    await c.next('RECEIPT');
    c.send('BEGIN', { transaction: 'old' });
    c.send('SEND', { destination: 'sw/t', transaction: 'old' }, 'x');
    await sleep(1200);
    c.send('BEGIN', { transaction: 'young', receipt: 'y' });
    await c.next('RECEIPT');
    c.send('COMMIT', { transaction: 'old' });
    assert.equal((await c.next('ERROR')).body, 'Transaction old not found');
    c.send('SEND', { destination: 'sw/t', transaction: 'young' }, 'y');
    c.send('COMMIT', { transaction: 'young' });
    assert.equal((await c.next('MESSAGE')).body, 'y');
    c.destroy();
  });

  it('mountpoint: STOMP sees unmounted destinations, MQTT sees mounted topics', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 'm', destination: 't/a', receipt: 'r' });
    await c.next('RECEIPT');
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('stomp/#');
    await m.publishAsync('stomp/t/a', 'from-mqtt');
    const msg = await c.next('MESSAGE');
    assert.equal(msg.headers.destination, 't/a');
    assert.equal(msg.headers['content-type'], 'text/plain');
    c.send('SEND', { destination: 't/b' }, 'from-stomp');
    const all = await got.next(2);
    assert.deepEqual(all.map((x) => x.topic).sort(), ['stomp/t/a', 'stomp/t/b']);
    await m.endAsync();
    c.destroy();
  });
});
