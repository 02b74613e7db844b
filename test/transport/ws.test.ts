import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { type ClientOptions, WebSocket } from 'ws';
import type { ListenerOptions, WebSocketOptions } from '../../src/transport/listener.js';
import { DEFAULT_WEBSOCKET_OPTIONS } from '../../src/transport/ws.js';
import {
  fixture,
  type Harness,
  listenerOptions,
  Recorder,
  readFixture,
  startHarness,
  waitFor,
} from './helpers.js';

function wsOptions(overrides: Partial<WebSocketOptions> = {}): WebSocketOptions {
  return { ...DEFAULT_WEBSOCKET_OPTIONS, ...overrides };
}

/** Opens a ws client and resolves once open (rejects on a refused upgrade). */
function open(url: string, protocols: string[] = ['mqtt'], opts: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, opts);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Collects binary messages a client receives. */
function messages(ws: WebSocket): { list: Buffer[]; count: (n: number) => Promise<Buffer[]> } {
  const list: Buffer[] = [];
  ws.on('message', (data) => list.push(data as Buffer));
  return {
    list,
    count: async (n) => {
      await waitFor(() => list.length >= n, 5000, `${n} messages`);
      return list;
    },
  };
}

function closedWs(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(1006);
    else ws.once('close', (code) => resolve(code));
  });
}

describe('ws listener', () => {
  const harnesses: Harness[] = [];
  const start = async (overrides: Partial<ListenerOptions> = {}, ws?: WebSocketOptions): Promise<Harness> => {
    const h = await startHarness(listenerOptions('ws', { ws: ws ?? wsOptions(), ...overrides }));
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  it('upgrades on /mqtt with subprotocol mqtt and passes bytes both ways', async () => {
    const h = await start();
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`);
    assert.equal(client.protocol, 'mqtt');
    const got = messages(client);
    const conn = await h.connection();
    assert.equal(conn.transport, 'ws');
    assert.equal(conn.kind, 'stream');
    assert.equal(conn.peerhost, '127.0.0.1');
    assert.equal(conn.sockport, h.port);
    const rec = new Recorder();
    conn.setHandler(rec);
    // One packet split over two messages, then two packets in one message: the bytes pass as they come.
    client.send(Buffer.from([0xc0]));
    client.send(Buffer.from([0x00, 0xc0, 0x00]));
    await rec.waitBytes(4);
    assert.deepEqual(rec.received, Buffer.from([0xc0, 0x00, 0xc0, 0x00]));
    conn.send(Buffer.from([0xd0, 0x00]));
    conn.send(Buffer.from([0xd0, 0x00]));
    conn.sendPatched(Buffer.from([0x40, 0x02, 0x00, 0x00]), 2, 7);
    const [msg] = await got.count(1);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(got.list.length, 1, 'one batch, one message');
    assert.deepEqual(msg, Buffer.from([0xd0, 0x00, 0xd0, 0x00, 0x40, 0x02, 0x00, 0x07]));
    assert.equal(conn.stats.recvOct, 4);
    assert.equal(conn.stats.sendCnt, 1);
    client.close();
    assert.equal(await rec.closed(), 'closed');
  });

  it('sends a batch holding a large frame as one message', async () => {
    const h = await start();
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`);
    const got = messages(client);
    const conn = await h.connection();
    conn.setHandler(new Recorder());
    const big = Buffer.alloc(100_000, 9);
    conn.send(Buffer.from('head'));
    conn.send(big);
    conn.send(Buffer.from('tail'));
    const [msg] = await got.count(1);
    assert.deepEqual(msg, Buffer.concat([Buffer.from('head'), big, Buffer.from('tail')]));
    client.terminate();
  });

  it('refuses an upgrade on another path with 404', async () => {
    const h = await start();
    await assert.rejects(open(`ws://127.0.0.1:${h.port}/other`), /404/);
    await h.refused();
    assert.equal(h.refusals[0].reason, 'ws_upgrade');
    assert.equal(h.connections.length, 0);
  });

  it('refuses a client offering no subprotocol when required, accepts it otherwise', async () => {
    const strict = await start();
    await assert.rejects(open(`ws://127.0.0.1:${strict.port}/mqtt`, []), /400/);
    await strict.refused();
    assert.equal(strict.refusals[0].reason, 'ws_upgrade');
    await assert.rejects(open(`ws://127.0.0.1:${strict.port}/mqtt`, ['stomp']), /400/);

    const lax = await start({}, wsOptions({ failIfNoSubprotocol: false }));
    const client = await open(`ws://127.0.0.1:${lax.port}/mqtt`, []);
    await lax.connection();
    client.terminate();
  });

  it('holds upgrades over max_conn_rate and admits them all', async () => {
    const h = await start({ maxConnRate: 2 });
    const clients = await Promise.all(Array.from({ length: 4 }, () => open(`ws://127.0.0.1:${h.port}/mqtt`)));
    await h.connection(3);
    assert.equal(h.refusals.length, 0);
    for (const c of clients) c.terminate();
  });

  it('picks the first offered subprotocol we support', async () => {
    const h = await start();
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`, ['stomp', 'mqttv3.1', 'mqtt']);
    assert.equal(client.protocol, 'mqttv3.1');
    client.terminate();
  });

  it('checks the origin when asked', async () => {
    const h = await start(
      {},
      wsOptions({ checkOriginEnable: true, allowOriginAbsence: false, checkOrigins: ['https://ok.example'] }),
    );
    await assert.rejects(
      open(`ws://127.0.0.1:${h.port}/mqtt`, ['mqtt'], { origin: 'https://evil.example' }),
      /403/,
    );
    await assert.rejects(open(`ws://127.0.0.1:${h.port}/mqtt`), /403/);
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`, ['mqtt'], { origin: 'https://ok.example' });
    await h.connection();
    client.terminate();
  });

  it('takes the peer address from proxy headers', async () => {
    const h = await start();
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`, ['mqtt'], {
      headers: { 'X-Forwarded-For': '203.0.113.7, 10.0.0.1', 'X-Forwarded-Port': '41234' },
    });
    const conn = await h.connection();
    assert.equal(conn.peerhost, '203.0.113.7');
    assert.equal(conn.peerport, 41234);
    client.terminate();
  });

  it('answers a plain HTTP request without upgrading', async () => {
    const h = await start();
    const status = await new Promise<number>((resolve, reject) => {
      http.get(`http://127.0.0.1:${h.port}/mqtt`, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
    assert.equal(status, 426);
    await h.refused();
    assert.equal(h.refusals[0].reason, 'ws_upgrade');
  });

  it('closes on a text message and on a message over max_frame_size', async () => {
    const h = await start({}, wsOptions({ maxFrameSize: 1024 }));
    const text = await open(`ws://127.0.0.1:${h.port}/mqtt`);
    const c1 = await h.connection(0);
    const r1 = new Recorder();
    c1.setHandler(r1);
    text.send('not binary');
    assert.equal(await r1.closed(), 'reset');
    await closedWs(text);

    const big = await open(`ws://127.0.0.1:${h.port}/mqtt`);
    const c2 = await h.connection(1);
    const r2 = new Recorder();
    c2.setHandler(r2);
    big.send(Buffer.alloc(2048));
    assert.equal(await r2.closed(), 'reset');
    assert.equal(await closedWs(big), 1009);
  });

  it('close() sends a normal close after the queued frames', async () => {
    const h = await start();
    const client = await open(`ws://127.0.0.1:${h.port}/mqtt`);
    const got = messages(client);
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    conn.send(Buffer.from('bye'));
    conn.close();
    assert.equal(await closedWs(client), 1000);
    assert.deepEqual(got.list, [Buffer.from('bye')]);
    assert.equal(await rec.closed(), 'local');
  });
});

describe('wss listener', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const start = async (failIfNoPeerCert: boolean): Promise<Harness> => {
    const h = await startHarness(
      listenerOptions('wss', {
        ws: wsOptions(),
        tls: {
          certfile: fixture('certs', 'server.pem'),
          keyfile: fixture('certs', 'server.key'),
          cacertfile: fixture('certs', 'ca.pem'),
          verify: 'verify_peer',
          failIfNoPeerCert,
        },
      }),
    );
    harnesses.push(h);
    return h;
  };

  it('upgrades over TLS and exposes the client certificate', async () => {
    const h = await start(true);
    const client = await open(`wss://127.0.0.1:${h.port}/mqtt`, ['mqtt'], {
      ca: readFixture('certs', 'ca.pem'),
      key: readFixture('certs', 'client.key'),
      cert: readFixture('certs', 'client.pem'),
    });
    const got = messages(client);
    const conn = await h.connection();
    assert.equal(conn.transport, 'wss');
    assert.equal(conn.peerCert?.cn, 'dev1');
    assert.equal(conn.peerCert?.dn, 'CN=dev1,O=Acme');
    conn.setHandler(new Recorder(conn));
    client.send(Buffer.from('echo'));
    const [msg] = await got.count(1);
    assert.equal(msg.toString(), 'echo');
    client.close();
  });

  it('refuses a client without a certificate', async () => {
    const h = await start(true);
    await assert.rejects(
      open(`wss://127.0.0.1:${h.port}/mqtt`, ['mqtt'], { ca: readFixture('certs', 'ca.pem') }),
    );
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    assert.equal(h.connections.length, 0);
  });

  it('accepts a client without a certificate when not required', async () => {
    const h = await start(false);
    const client = await open(`wss://127.0.0.1:${h.port}/mqtt`, ['mqtt'], {
      ca: readFixture('certs', 'ca.pem'),
    });
    const conn = await h.connection();
    assert.equal(conn.peerCert, undefined);
    client.terminate();
  });
});
