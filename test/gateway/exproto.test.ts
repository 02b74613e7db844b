/**
 * The ExProto gateway end to end: a real gRPC handler (test/gateway/exproto-echo.ts), devices on raw TCP
 * and UDP sockets, mqtt.js on the broker side, and the REST API as a user drives it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { type EchoHandler, startEchoHandler } from './exproto-echo.js';
import { TcpLines, UdpLines } from './exproto-lines.js';
import { ADAPTER_SERVER, gatewayPort, until } from './helpers.js';

/** Starts a broker with the API, and loads ExProto through the seed's API call shape. */
async function setup(handlerOpts: { streaming?: boolean } = {}, extra: Record<string, unknown> = {}) {
  let adapterPort = 0;
  const handler = await startEchoHandler(() => adapterPort, handlerOpts);
  const b = await startBroker({ api: true });
  const api = await adminClient(b);
  const put = await api.put('/gateway/exproto', {
    name: 'exproto',
    enable: true,
    mountpoint: 'ex/',
    server: { bind: '127.0.0.1:0', grpc_server: ADAPTER_SERVER },
    handler: {
      address: `http://127.0.0.1:${handler.port}`,
      ssl_options: { enable: false },
      ...(handlerOpts.streaming ? { service_name: 'ConnectionHandler' } : {}),
    },
    listeners: [
      { type: 'tcp', bind: '127.0.0.1:0', name: 'default', max_conn_rate: 1000, max_connections: 1024000 },
      { type: 'udp', bind: '127.0.0.1:0', name: 'default' },
    ],
    ...extra,
  });
  assert.ok(put.status === 200 || put.status === 204, put.text);
  const state = await api.get('/gateways/exproto/handler');
  assert.equal(state.status, 200, state.text);
  adapterPort = state.body.adapter.port;
  return {
    handler,
    b,
    api,
    tcpPort: gatewayPort(b.node, 'exproto:tcp:default'),
    udpPort: gatewayPort(b.node, 'exproto:udp:default'),
  };
}

const events = (h: EchoHandler, rpc: string, conn?: string) =>
  h.events.filter((e) => e.rpc === rpc && (conn === undefined || e.conn === conn));

describe('exproto: unary handler, tcp and udp', () => {
  let h: EchoHandler;
  let b: TestBroker;
  let api: ApiClient;
  let tcpPort: number;
  let udpPort: number;
  before(async () => {
    ({ handler: h, b, api, tcpPort, udpPort } = await setup());
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('echoes a line before login and tells the handler about the socket', async () => {
    const c = await TcpLines.open(tcpPort);
    c.send('Hi, this is tcp client!');
    assert.equal(await c.next('Hi'), 'Hi, this is tcp client!');
    const [created] = events(h, 'OnSocketCreated').slice(-1);
    const info = created!.request.conninfo as Record<string, { host: string; port: number } | string>;
    assert.equal(info.socktype, 'TCP');
    assert.equal((info.peername as { host: string }).host, '127.0.0.1');
    assert.equal((info.peername as { port: number }).port, c.sock.localPort);
    assert.deepEqual(info.sockname, { host: '127.0.0.1', port: tcpPort });
    c.end();
    await until(() => events(h, 'OnSocketClosed', created!.conn).length === 1, 5000, 'OnSocketClosed');
  });

  it("listeners take ExProto's own defaults: 1024000 connections, 1000 per second", async () => {
    // The udp listener was created without either key; the other gateways keep 1024.
    const l = await api.get('/gateways/exproto/listeners/exproto:udp:default');
    assert.equal(l.status, 200, l.text);
    assert.equal(l.body.max_connections, 1024000);
    assert.equal(l.body.max_conn_rate, 1000);
    const created = await api.post('/gateways/exproto/listeners', {
      type: 'tcp',
      name: 'extra',
      bind: '127.0.0.1:0',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.max_connections, 1024000);
    assert.equal((await api.del('/gateways/exproto/listeners/exproto:tcp:extra')).status, 204);
  });

  it('tcp: login, subscribe and publish with the mountpoint, both ways with mqtt.js', async () => {
    const m = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(m);
    await m.subscribeAsync('ex/t/up');
    await m.subscribeAsync('raw/t');

    const c = await TcpLines.open(tcpPort);
    c.send('CONNECT dev1');
    assert.equal(await c.next('CONNACK'), 'CONNACK SUCCESS');
    c.send('SUB t/dn');
    assert.equal(await c.next('SUBACK'), 'SUBACK SUCCESS');
    c.send('PUB t/up hello from tcp');
    assert.equal(await c.next('PUBACK'), 'PUBACK SUCCESS');
    await got.next(1);
    assert.equal(got.messages[0]!.topic, 'ex/t/up');
    assert.equal(got.messages[0]!.payload.toString(), 'hello from tcp');

    // RawPublish: no mountpoint, no client.
    c.send('RAW raw/t raw bytes');
    assert.equal(await c.next('RAWACK'), 'RAWACK SUCCESS');
    await got.next(2);
    assert.equal(got.messages[1]!.topic, 'raw/t');

    await m.publishAsync('ex/t/dn', 'down 1', { qos: 1 });
    await m.publishAsync('ex/t/dn', 'down 2', { qos: 0 });
    assert.equal(await c.next('MSG'), 'MSG t/dn down 1');
    assert.equal(await c.next('MSG'), 'MSG t/dn down 2');

    c.send('UNSUB t/dn');
    assert.equal(await c.next('UNSUBACK'), 'UNSUBACK SUCCESS');
    await m.endAsync();
    c.end();
  });

  it('lists the client in the API with its subscriptions, and kicks it', async () => {
    const c = await TcpLines.open(tcpPort);
    c.send('CONNECT dev-api');
    await c.next('CONNACK');
    c.send('SUB a/#');
    await c.next('SUBACK');
    const one = await api.get('/gateways/exproto/clients/dev-api');
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.proto_name, 'echo');
    const subs = await api.get('/gateways/exproto/clients/dev-api/subscriptions');
    assert.deepEqual(
      subs.body.map((s: { topic: string }) => s.topic),
      ['ex/a/#'],
    );
    const list = await api.get('/gateways/exproto/clients');
    assert.ok(list.body.data.some((x: { clientid: string }) => x.clientid === 'dev-api'));
    const conn = events(h, 'OnSocketCreated').slice(-1)[0]!.conn;
    assert.equal((await api.del('/gateways/exproto/clients/dev-api')).status, 204);
    await c.waitClosed();
    await until(() => events(h, 'OnSocketClosed', conn).length === 1, 5000, 'OnSocketClosed');
    assert.equal(events(h, 'OnSocketClosed', conn)[0]!.request.reason, 'kicked');
  });

  it("Authenticate's mountpoint is ignored (as EMQX since 5.1): the gateway's applies", async () => {
    const m = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(m);
    await m.subscribeAsync('ex/up');
    const c = await TcpLines.open(tcpPort);
    c.send('CONNECT dev-mp user pass dev/${clientid}/');
    assert.equal(await c.next('CONNACK'), 'CONNACK SUCCESS');
    const one = await api.get('/gateways/exproto/clients/dev-mp');
    assert.equal(one.body.mountpoint, 'ex/');
    c.send('PUB up hello');
    assert.equal(await c.next('PUBACK'), 'PUBACK SUCCESS');
    await got.next(1);
    assert.equal(got.messages[0]!.topic, 'ex/up');
    await m.endAsync();
    c.end();
  });

  it('hooks: connected, subscribed, delivered, unsubscribed, disconnected', async () => {
    const ID = 'dev-hooks';
    const seen: string[] = [];
    const on =
      (name: string) =>
      (ci: { clientid: string }): undefined => {
        if (ci.clientid === ID) seen.push(name);
      };
    const names = [
      'client.connected',
      'session.subscribed',
      'message.delivered',
      'session.unsubscribed',
      'client.disconnected',
    ] as const;
    const offs = names.map((n) => b.node.hooks.add(n, on(n) as never));
    try {
      const c = await TcpLines.open(tcpPort);
      c.send(`CONNECT ${ID}`);
      await c.next('CONNACK');
      c.send('SUB h/t');
      await c.next('SUBACK');
      c.send('PUB h/t to myself');
      assert.equal(await c.next('MSG'), 'MSG h/t to myself');
      c.send('UNSUB h/t');
      await c.next('UNSUBACK');
      c.send('CLOSE');
      await c.waitClosed();
      await until(() => seen.includes('client.disconnected'), 5000, 'client.disconnected');
      assert.deepEqual(seen, [...names]);
    } finally {
      for (const off of offs) off();
    }
  });

  it('udp: one datagram per OnReceivedBytes, login and publish', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('ex/u/#');
    const u = new UdpLines(udpPort);
    u.send('CONNECT udp1');
    assert.equal(await u.next('CONNACK'), 'CONNACK SUCCESS');
    u.send('SUB u/dn');
    assert.equal(await u.next('SUBACK'), 'SUBACK SUCCESS');
    u.send('PUB u/up over udp');
    assert.equal(await u.next('PUBACK'), 'PUBACK SUCCESS');
    await got.next(1);
    assert.equal(got.messages[0]!.topic, 'ex/u/up');
    await m.publishAsync('ex/u/dn', 'to udp');
    assert.equal(await u.next('MSG'), 'MSG u/dn to udp');
    const created = events(h, 'OnSocketCreated').slice(-1)[0]!;
    assert.equal((created.request.conninfo as { socktype: string }).socktype, 'UDP');
    assert.deepEqual((created.request.conninfo as { sockname: unknown }).sockname, {
      host: '127.0.0.1',
      port: udpPort,
    });
    u.end();
    await m.endAsync();
  });

  it('adapter rpcs answer EMQX result codes for bad or early calls', async () => {
    const c = await TcpLines.open(tcpPort);
    c.send('hello');
    await c.next('hello');
    const conn = events(h, 'OnSocketCreated').slice(-1)[0]!.conn;
    const pub = { conn, topic: 't', qos: 0, payload: Buffer.from('x') };
    assert.equal((await h.adapter('Publish', pub)).code, 'UNKNOWN');
    assert.equal((await h.adapter('Subscribe', { conn, topic: 't', qos: 0 })).code, 'UNKNOWN');
    const noId = { conn, clientinfo: { proto_name: 'echo', proto_ver: '1' } };
    assert.equal((await h.adapter('Authenticate', noId)).code, 'REQUIRED_PARAMS_MISSED');
    const auth = { conn, clientinfo: { proto_name: 'echo', proto_ver: '1', clientid: 'dup' } };
    assert.equal((await h.adapter('Authenticate', auth)).code, 'SUCCESS');
    const again = await h.adapter('Authenticate', auth);
    assert.equal(again.code, 'PERMISSION_DENY');
    assert.equal(again.message, 'Duplicated authenticate command');
    assert.equal((await h.adapter('Publish', { ...pub, qos: 3 })).code, 'PARAMS_TYPE_ERROR');
    assert.equal((await h.adapter('Publish', { ...pub, topic: 'a/+' })).code, 'PARAMS_TYPE_ERROR');
    assert.equal(
      (await h.adapter('StartTimer', { conn, type: 'KEEPALIVE', interval: 0 })).code,
      'PARAMS_TYPE_ERROR',
    );
    assert.equal(
      (await h.adapter('Send', { conn: 'not an id!', bytes: Buffer.from('x') })).code,
      'PARAMS_TYPE_ERROR',
    );
    assert.equal(
      (await h.adapter('Send', { conn: '', bytes: Buffer.from('x') })).code,
      'REQUIRED_PARAMS_MISSED',
    );
    const unknown = Buffer.from('999999@hermod@127.0.0.1').toString('base64');
    assert.equal(
      (await h.adapter('Send', { conn: unknown, bytes: Buffer.from('x') })).code,
      'CONN_PROCESS_NOT_ALIVE',
    );
    assert.equal((await h.adapter('Close', { conn })).code, 'SUCCESS');
    await c.waitClosed();
    await until(() => events(h, 'OnSocketClosed', conn).length === 1, 5000, 'OnSocketClosed');
    assert.equal(events(h, 'OnSocketClosed', conn)[0]!.request.reason, 'normal');
    // Send on a closed connection.
    assert.equal((await h.adapter('Send', { conn, bytes: Buffer.from('x') })).code, 'CONN_PROCESS_NOT_ALIVE');
  });

  it('a keepalive miss: OnTimerTimeout, then the socket closes', async () => {
    const c = await TcpLines.open(tcpPort);
    c.send('CONNECT ka1');
    await c.next('CONNACK');
    c.send('KEEPALIVE 1');
    assert.equal(await c.next('TIMER'), 'TIMER SUCCESS');
    const conn = events(h, 'OnSocketCreated').slice(-1)[0]!.conn;
    await c.waitClosed(6000);
    await until(() => events(h, 'OnSocketClosed', conn).length === 1, 5000, 'OnSocketClosed');
    assert.equal(events(h, 'OnTimerTimeout', conn)[0]!.request.type, 'KEEPALIVE');
    assert.equal(events(h, 'OnSocketClosed', conn)[0]!.request.reason, 'keepalive_timeout');
  });

  it('a failing handler closes the connection with a reason; others keep working', async () => {
    const ok = await TcpLines.open(tcpPort);
    ok.send('CONNECT survivor');
    await ok.next('CONNACK');
    const c = await TcpLines.open(tcpPort);
    c.send('warm-up');
    await c.next('warm-up');
    h.failWith = status.UNAVAILABLE;
    c.send('lost?');
    await c.waitClosed();
    h.failWith = undefined;
    const state = (await api.get('/gateways/exproto/handler')).body;
    assert.ok(state.calls.failed >= 1);
    assert.match(state.last_error, /UNAVAILABLE/);
    ok.send('still here');
    assert.equal(await ok.next('still'), 'still here');
    await until(
      async () => (await api.get('/gateways/exproto/handler')).body.status === 'connected',
      5000,
      'handler connected again',
    );
    ok.end();
  });
});

describe('exproto: streaming ConnectionHandler', () => {
  let h: EchoHandler;
  let b: TestBroker;
  let tcpPort: number;
  before(async () => {
    ({ handler: h, b, tcpPort } = await setup({ streaming: true }));
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('events arrive on the streams and the device is served', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('ex/s/up');
    const c = await TcpLines.open(tcpPort);
    c.send('CONNECT streamer');
    assert.equal(await c.next('CONNACK'), 'CONNACK SUCCESS');
    c.send('PUB s/up streamed');
    assert.equal(await c.next('PUBACK'), 'PUBACK SUCCESS');
    await got.next(1);
    assert.equal(got.messages[0]!.payload.toString(), 'streamed');
    c.end();
    await m.endAsync();
  });
});

describe('exproto: a slow handler', () => {
  let h: EchoHandler;
  let b: TestBroker;
  let tcpPort: number;
  before(async () => {
    ({ handler: h, b, tcpPort } = await setup({}, {}));
    // A short deadline, set live through the config API shape.
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('a call past request_timeout closes its connection as handler_timeout', async () => {
    const api = await adminClient(b);
    const cur = (await api.get('/gateways/exproto')).body;
    const upd = await api.put('/gateways/exproto', {
      handler: { ...cur.handler, request_timeout: '300ms' },
    });
    assert.ok(upd.status === 200 || upd.status === 204, upd.text);
    const c = await TcpLines.open(tcpPort);
    h.delayMs = 1000;
    c.send('slow');
    await c.waitClosed();
    h.delayMs = 0;
    const conn = events(h, 'OnSocketCreated').slice(-1)[0]!.conn;
    await until(() => events(h, 'OnSocketClosed', conn).length === 1, 5000, 'OnSocketClosed');
    assert.equal(events(h, 'OnSocketClosed', conn)[0]!.request.reason, 'handler_timeout');
  });
});
