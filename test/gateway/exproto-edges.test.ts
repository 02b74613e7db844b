/**
 * ExProto beyond the happy path: authentication through the gateway's authenticator, UDP peers forgotten
 * after idle_timeout, TLS on every hop (ssl listener, adapter server verifying handler certificates, https
 * handler), and bad input on the adapter port or from a handler that is down.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { fixture, readFixture } from '../helpers/fixtures.js';
import { freePort } from '../helpers/servers/common.js';
import { adminClient } from '../mgmt/http.js';
import { type EchoHandler, startEchoHandler } from './exproto-echo.js';
import { TcpLines, UdpLines } from './exproto-lines.js';
import { ADAPTER_SERVER, gatewayPort, sleep, until } from './helpers.js';

type Raw = Record<string, unknown>;

async function start(exproto: Raw, handlerOpts: Parameters<typeof startEchoHandler>[1] = {}) {
  let adapterPort = 0;
  const h = await startEchoHandler(() => adapterPort, handlerOpts);
  const b = await startBroker({
    api: true,
    config: {
      gateway: {
        exproto: {
          server: { bind: '127.0.0.1:0', grpc_server: ADAPTER_SERVER },
          handler: { address: `http://127.0.0.1:${h.port}` },
          listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, udp: { default: { bind: '127.0.0.1:0' } } },
          ...exproto,
        },
      },
    },
  });
  adapterPort = (await (await adminClient(b)).get('/gateways/exproto/handler')).body.adapter.port;
  return { h, b, adapterPort };
}

const events = (h: EchoHandler, rpc: string) => h.events.filter((e) => e.rpc === rpc);

describe('exproto: authentication and udp idle', () => {
  let h: EchoHandler;
  let b: TestBroker;
  before(async () => {
    ({ h, b } = await start({
      idle_timeout: '1s',
      authentication: { mechanism: 'password_based', backend: 'built_in_database' },
    }));
    const api = await adminClient(b);
    const add = await api.post('/gateways/exproto/authentication/users', {
      user_id: 'dev-ok',
      password: 'pw',
    });
    assert.ok(add.status === 200 || add.status === 201, add.text);
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('a refused login answers PERMISSION_DENY (the handler then closes); good credentials get in', async () => {
    const bad = await TcpLines.open(gatewayPort(b.node, 'exproto:tcp:default'));
    bad.send('CONNECT dev-bad dev-bad wrong');
    assert.equal(await bad.next('CONNACK'), 'CONNACK PERMISSION_DENY');
    await bad.waitClosed();
    const good = await TcpLines.open(gatewayPort(b.node, 'exproto:tcp:default'));
    good.send('CONNECT dev-ok dev-ok pw');
    assert.equal(await good.next('CONNACK'), 'CONNACK SUCCESS');
    good.end();
  });

  it('tcp: a silent connection is closed after idle_timeout; one that spoke stays without logging in', async () => {
    const port = gatewayPort(b.node, 'exproto:tcp:default');
    const silent = await TcpLines.open(port);
    const talker = await TcpLines.open(port);
    talker.send('just echo me');
    assert.equal(await talker.next('just'), 'just echo me');
    await silent.waitClosed(5000);
    await sleep(500);
    assert.equal(talker.closed, false);
    talker.send('still echoed');
    assert.equal(await talker.next('still'), 'still echoed');
    talker.end();
  });

  it('udp: a logged-in peer without keepalive is closed after idle_timeout; with one it stays', async () => {
    const port = gatewayPort(b.node, 'exproto:udp:default');
    const idle = new UdpLines(port);
    idle.send('CONNECT udp-idle dev-ok pw');
    assert.equal(await idle.next('CONNACK'), 'CONNACK SUCCESS');
    const kept = new UdpLines(port);
    kept.send('CONNECT udp-kept dev-ok pw');
    assert.equal(await kept.next('CONNACK'), 'CONNACK SUCCESS');
    kept.send('KEEPALIVE 5');
    assert.equal(await kept.next('TIMER'), 'TIMER SUCCESS');
    const gw = b.node.gateways.get('exproto')!;
    await until(() => gw.connection('udp-idle') === undefined, 5000, 'idle udp peer closed');
    const closed = events(h, 'OnSocketClosed').filter((e) => e.request.reason === 'idle_timeout');
    assert.ok(closed.length >= 1);
    await sleep(300);
    assert.ok(gw.connection('udp-kept') !== undefined);
    idle.end();
    kept.end();
  });
});

describe('exproto: TLS on every hop', () => {
  let h: EchoHandler;
  let b: TestBroker;
  const ca = readFixture('certs', 'ca.pem');
  before(async () => {
    ({ h, b } = await start(
      {
        server: {
          bind: '127.0.0.1:0',
          grpc_server: ADAPTER_SERVER,
          ssl_options: {
            enable: true,
            cacertfile: fixture('certs', 'ca.pem'),
            certfile: fixture('certs', 'server.pem'),
            keyfile: fixture('certs', 'server.key'),
            verify: 'verify_peer',
          },
        },
        listeners: {
          ssl: {
            default: {
              bind: '127.0.0.1:0',
              ssl_options: {
                certfile: fixture('certs', 'server.pem'),
                keyfile: fixture('certs', 'server.key'),
              },
            },
          },
        },
      },
      {
        tls: {
          ca,
          server: { cert: readFixture('certs', 'server.pem'), key: readFixture('certs', 'server.key') },
          client: { cert: readFixture('certs', 'client.pem'), key: readFixture('certs', 'client.key') },
        },
      },
    ));
    // The handler is https: the gateway verifies it against the CA, by the name in its certificate.
    const api = await adminClient(b);
    const cur = (await api.get('/gateways/exproto')).body;
    const upd = await api.put('/gateways/exproto', {
      handler: {
        ...cur.handler,
        address: `https://127.0.0.1:${h.port}`,
        ssl_options: {
          enable: true,
          cacertfile: fixture('certs', 'ca.pem'),
          verify: 'verify_peer',
          server_name_indication: 'localhost',
        },
      },
    });
    assert.ok(upd.status === 200 || upd.status === 204, upd.text);
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('an ssl device talks through an https handler that calls a TLS adapter with its certificate', async () => {
    const port = gatewayPort(b.node, 'exproto:ssl:default');
    const sock = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    await new Promise((r) => sock.once('secureConnect', r));
    let text = '';
    sock.on('data', (d) => (text += d));
    sock.write('CONNECT tls-dev\n');
    await until(() => text.includes('CONNACK SUCCESS'), 5000, 'CONNACK over TLS');
    const created = events(h, 'OnSocketCreated').slice(-1)[0]!;
    assert.equal((created.request.conninfo as { socktype: string }).socktype, 'SSL');
    sock.destroy();
  });

  it('the adapter refuses a caller without a client certificate', async () => {
    const adapterPort = (await (await adminClient(b)).get('/gateways/exproto/handler')).body.adapter.port;
    const c = new Client(`127.0.0.1:${adapterPort}`, credentials.createSsl(ca), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const err = await new Promise<Error | null>((resolve) =>
      c.makeUnaryRequest(
        '/emqx.exproto.v1.ConnectionAdapter/Send',
        () => Buffer.alloc(0),
        (b: Buffer) => b,
        {},
        new Metadata(),
        { deadline: Date.now() + 3000 },
        (e) => resolve(e),
      ),
    );
    assert.ok(err !== null);
    c.close();
  });
});

describe('exproto: bad input', () => {
  let h: EchoHandler;
  let b: TestBroker;
  let adapterPort: number;
  before(async () => {
    ({ h, b, adapterPort } = await start({}));
  });
  after(async () => {
    await b.stop();
    await h.stop();
  });

  it('garbage bytes and undecodable protobuf on the adapter port: errors, the gateway keeps serving', async () => {
    const junk = net.connect(adapterPort, '127.0.0.1');
    await new Promise((r) => junk.once('connect', r));
    junk.write(Buffer.from('GET / HTTP/1.1\r\n\r\n\x00\xff garbage'));
    // The server ends the HTTP/2 session; either way the socket goes, and nothing else does.
    await Promise.race([new Promise((r) => junk.once('close', r)), sleep(1000)]);
    junk.destroy();

    const c = new Client(`127.0.0.1:${adapterPort}`, credentials.createInsecure());
    const err = await new Promise<Error | null>((resolve) =>
      c.makeUnaryRequest(
        '/emqx.exproto.v1.ConnectionAdapter/Send',
        () => Buffer.from([0x0a, 0xff, 0xff, 0xff]),
        (x: Buffer) => x,
        {},
        new Metadata(),
        { deadline: Date.now() + 3000 },
        (e) => resolve(e),
      ),
    );
    assert.ok(err !== null, 'a truncated message is refused');
    c.close();

    const t = await TcpLines.open(gatewayPort(b.node, 'exproto:tcp:default'));
    t.send('still alive');
    assert.equal(await t.next('still'), 'still alive');
    t.end();
  });

  it('a huge Send reaches the device whole', async () => {
    const t = await TcpLines.open(gatewayPort(b.node, 'exproto:tcp:default'));
    t.send('hello');
    await t.next('hello');
    const conn = events(h, 'OnSocketCreated').slice(-1)[0]!.conn;
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    let n = 0;
    t.sock.on('data', (d) => (n += d.length));
    assert.equal((await h.adapter('Send', { conn, bytes: big })).code, 'SUCCESS');
    await until(() => n >= big.length, 10_000, 'all bytes');
    t.end();
  });

  it('a flood of connections while the handler is down: each closed with a reason, service resumes', async () => {
    const api = await adminClient(b);
    const cur = (await api.get('/gateways/exproto')).body;
    const dead = await freePort();
    await api.put('/gateways/exproto', { handler: { ...cur.handler, address: `http://127.0.0.1:${dead}` } });
    const port = gatewayPort(b.node, 'exproto:tcp:default');
    const socks = await Promise.all(Array.from({ length: 20 }, () => TcpLines.open(port)));
    for (const s of socks) s.send('anyone?');
    await Promise.all(socks.map((s) => s.waitClosed(10_000)));
    const state = (await api.get('/gateways/exproto/handler')).body;
    assert.equal(state.status, 'disconnected');
    assert.match(state.last_error, /UNAVAILABLE/);
    await api.put('/gateways/exproto', { handler: cur.handler });
    const t = await TcpLines.open(port);
    t.send('back');
    assert.equal(await t.next('back'), 'back');
    t.end();
  });
});

describe('exproto: the seed API calls', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ api: true });
  });
  after(() => b.stop());

  it('the documented body without its commas is a 400, not a crash; fixed, it loads the gateway', async () => {
    const api = await adminClient(b);
    const broken = `{
  "name": "exproto",
  "enable": true,
  "mountpoint": "exproto/",
  "server": {
    "bind": "127.0.0.1:0"
  }
  "handler": {
    "address": "http://127.0.0.1:9001"
    "ssl_options": {"enable": false}
  }
}`;
    const bad = await api.req('PUT', '/api/v5/gateway/exproto', { raw: broken });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.body.message, /JSON/);
    const fixed = JSON.parse(
      broken.replace('}\n  "handler"', '},\n  "handler"').replace('9001"\n', '9001",\n'),
    );
    fixed.listeners = [
      { type: 'tcp', bind: '127.0.0.1:0', name: 'default', max_conn_rate: 1000, max_connections: 1024000 },
    ];
    const ok = await api.put('/gateway/exproto', fixed);
    assert.ok(ok.status === 200 || ok.status === 204, ok.text);
    const gw = (await api.get('/gateways/exproto')).body;
    assert.equal(gw.status, 'running');
    assert.equal(gw.handler.address, 'http://127.0.0.1:9001');
  });

  it('POST /gateway/exproto/authentication with the documented HTTP authenticator body', async () => {
    const api = await adminClient(b);
    const r = await api.post('/gateway/exproto/authentication', {
      method: 'post',
      url: 'http://127.0.0.1:8080',
      headers: { 'content-type': 'application/json' },
      body: { username: '${username}', password: '${password}' },
      pool_size: 8,
      connect_timeout: '5s',
      request_timeout: '5s',
      enable_pipelining: 100,
      ssl: { enable: false, verify: 'verify_none' },
      backend: 'http',
      mechanism: 'password_based',
      enable: true,
    });
    assert.ok(r.status === 200 || r.status === 201, r.text);
    const got = await api.get('/gateways/exproto/authentication');
    assert.equal(got.body.backend, 'http');
  });
});
