import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import type { GatewayListenerConfig } from '../../src/config/schema/gateway-common.js';
import type { TransportListener, TransportListenerSpec } from '../../src/gateway/types.js';
import type { CloseReason, Connection } from '../../src/transport/connection.js';
import type { ListenerRefusal } from '../../src/transport/listener.js';
import { createDatagramListener, parseSize } from '../../src/transport/udp.js';
import { waitFor } from './helpers.js';

interface UdpHarness {
  listener: TransportListener;
  port: number;
  conns: Connection[];
  /** Datagrams per connection, in arrival order. */
  data: Map<Connection, Buffer[]>;
  closes: Map<Connection, CloseReason>;
  refusals: Array<{ reason: ListenerRefusal; peerhost: string; detail?: string }>;
}

function spec(over: Partial<TransportListenerSpec> = {}, config: Partial<GatewayListenerConfig> = {}) {
  return {
    id: 'mqttsn:udp:test',
    type: 'udp',
    bind: { host: '127.0.0.1', port: 0 },
    maxConnections: Number.POSITIVE_INFINITY,
    maxConnRate: Number.POSITIVE_INFINITY,
    idleTimeoutMs: 30_000,
    config: { access_rules: [], enable: true, enable_authn: true, ...config } as GatewayListenerConfig,
    ...over,
  } as TransportListenerSpec;
}

/** A client socket bound on loopback that records what it receives. */
async function client(): Promise<{
  sock: dgram.Socket;
  got: Buffer[];
  send(port: number, b: Buffer | string): void;
}> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    sock,
    got,
    send: (port, b) => sock.send(typeof b === 'string' ? Buffer.from(b) : b, port, '127.0.0.1'),
  };
}

describe('udp listener', () => {
  const started: TransportListener[] = [];
  const sockets: dgram.Socket[] = [];
  after(async () => {
    for (const l of started) await l.stop(true);
    for (const s of sockets) s.close();
  });

  async function start(s: TransportListenerSpec, echo = false): Promise<UdpHarness> {
    const h: UdpHarness = {
      listener: undefined as unknown as TransportListener,
      port: 0,
      conns: [],
      data: new Map(),
      closes: new Map(),
      refusals: [],
    };
    h.listener = createDatagramListener(s, {
      onConnection(conn) {
        h.conns.push(conn);
        h.data.set(conn, []);
        conn.setHandler({
          onData: (d) => {
            h.data.get(conn)!.push(d);
            if (echo) conn.send(Buffer.concat([Buffer.from('echo:'), d]));
          },
          onClose: (reason) => h.closes.set(conn, reason),
        });
      },
      onRefused: (reason, peerhost, detail) => h.refusals.push({ reason, peerhost, detail }),
    });
    await h.listener.start();
    started.push(h.listener);
    h.port = h.listener.address()!.port;
    return h;
  }

  async function newClient() {
    const c = await client();
    sockets.push(c.sock);
    return c;
  }

  it('makes one datagram connection per peer address, one onData per datagram', async () => {
    const h = await start(spec());
    assert.equal(h.listener.running, true);
    const a = await newClient();
    const b = await newClient();
    a.send(h.port, 'one');
    a.send(h.port, 'two');
    b.send(h.port, 'three');
    await waitFor(() => h.conns.length === 2 && [...h.data.values()].flat().length === 3);
    const ca = h.conns.find((c) => c.peerport === a.sock.address().port)!;
    assert.equal(ca.kind, 'datagram');
    assert.equal(ca.transport, 'udp');
    assert.equal(ca.listenerId, 'mqttsn:udp:test');
    assert.equal(ca.peerhost, '127.0.0.1');
    assert.equal(ca.sockport, h.port);
    assert.deepEqual(
      h.data.get(ca)!.map((d) => d.toString()),
      ['one', 'two'],
    );
    assert.equal(h.listener.currentConnections, 2);
    assert.equal(ca.stats.recvCnt, 2);
  });

  it('a gateway router maps datagrams to connections by what they say, whatever the peer address', async () => {
    // Route by the first word (as CoAP connection mode routes by client id); an empty word is dropped.
    const routeDatagram = (d: Buffer) => d.toString().split(' ')[0] || undefined;
    const h = await start(spec({ routeDatagram }));
    const a = await newClient();
    const b = await newClient();
    a.send(h.port, 'dev1 one');
    a.send(h.port, ' dropped');
    b.send(h.port, 'dev1 two');
    b.send(h.port, 'dev2 three');
    await waitFor(() => [...h.data.values()].flat().length === 3);
    assert.equal(h.conns.length, 2);
    const of = (key: string) => h.conns.find((c) => String(h.data.get(c)![0]).startsWith(key))!;
    const dev1 = of('dev1');
    const dev2 = of('dev2');
    assert.deepEqual(h.data.get(dev1)!.map(String).sort(), ['dev1 one', 'dev1 two']);
    assert.deepEqual(h.data.get(dev2)!.map(String), ['dev2 three']);
    // A closed connection frees its key: the next datagram with it opens a new connection.
    dev1.close();
    a.send(h.port, 'dev1 again');
    await waitFor(() => h.conns.length === 3);
    assert.deepEqual(h.data.get(h.conns[2]!)!.map(String), ['dev1 again']);
  });

  it('sends one datagram per frame, never coalescing', async () => {
    const h = await start(spec());
    const a = await newClient();
    a.send(h.port, 'hi');
    await waitFor(() => h.conns.length === 1);
    const conn = h.conns[0]!;
    conn.send(Buffer.from('f1'));
    conn.send(Buffer.from('f2'));
    conn.sendPatched(Buffer.from([9, 0, 0, 9]), 1, 0x1234);
    await waitFor(() => a.got.length === 3);
    assert.deepEqual(a.got.slice(0, 2).map(String), ['f1', 'f2']);
    assert.deepEqual([...a.got[2]!], [9, 0x12, 0x34, 9]);
    assert.equal(conn.stats.sendCnt, 3);
  });

  it('holds datagrams while paused and delivers them on resume', async () => {
    const h = await start(spec());
    const a = await newClient();
    a.send(h.port, 'first');
    await waitFor(() => h.conns.length === 1);
    const conn = h.conns[0]!;
    conn.pause();
    a.send(h.port, 'second');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.data.get(conn)!.length, 1);
    conn.resume();
    assert.deepEqual(h.data.get(conn)!.map(String), ['first', 'second']);
  });

  it('a closed connection is forgotten: the next datagram from that address is a new connection', async () => {
    const h = await start(spec());
    const a = await newClient();
    a.send(h.port, 'x');
    await waitFor(() => h.conns.length === 1);
    h.conns[0]!.close();
    assert.equal(h.closes.get(h.conns[0]!), 'local');
    assert.equal(h.conns[0]!.closed, true);
    assert.equal(h.listener.currentConnections, 0);
    a.send(h.port, 'y');
    await waitFor(() => h.conns.length === 2);
    assert.notEqual(h.conns[1]!.id, h.conns[0]!.id);
  });

  it('forgets a peer it never answered after idleTimeoutMs, with reason timeout; keeps one it answered', async () => {
    const h = await start(spec({ idleTimeoutMs: 300 }));
    const silent = await newClient();
    const answered = await newClient();
    silent.send(h.port, 'x');
    answered.send(h.port, 'y');
    await waitFor(() => h.conns.length === 2);
    const cAnswered = h.conns.find((c) => c.peerport === answered.sock.address().port)!;
    cAnswered.send(Buffer.from('ack'));
    const cSilent = h.conns.find((c) => c !== cAnswered)!;
    await waitFor(() => h.closes.get(cSilent) === 'timeout', 5000, 'idle peer forgotten');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cAnswered.closed, false);
    assert.equal(h.listener.currentConnections, 1);
  });

  it('max_connections: a new peer over the limit is dropped and reported (once per window)', async () => {
    const h = await start(spec({ maxConnections: 1 }));
    const a = await newClient();
    a.send(h.port, 'in');
    await waitFor(() => h.conns.length === 1);
    const extra = [await newClient(), await newClient(), await newClient()];
    for (const c of extra) c.send(h.port, 'out');
    await waitFor(() => h.refusals.length >= 1);
    assert.equal(h.refusals[0]!.reason, 'max_connections');
    assert.equal(h.conns.length, 1);
    // The rest of the window is summarised in one report.
    await waitFor(() => h.refusals.length === 2, 5000, 'summary');
    assert.match(h.refusals[1]!.detail ?? '', /2 more peers refused/);
    // Known peers still get through.
    a.send(h.port, 'again');
    await waitFor(() => h.data.get(h.conns[0]!)!.length === 2);
  });

  it('max_conn_rate: new peers beyond the rate are dropped until a token frees up', async () => {
    const h = await start(spec({ maxConnRate: 2 }));
    const cs = [await newClient(), await newClient(), await newClient(), await newClient()];
    for (const c of cs) c.send(h.port, 'hello');
    await waitFor(() => h.refusals.length >= 1);
    assert.equal(h.conns.length, 2);
    assert.match(h.refusals[0]!.detail ?? '', /max_conn_rate/);
    // A refused device retries later and gets in.
    await new Promise((r) => setTimeout(r, 1100));
    cs[3]!.send(h.port, 'retry');
    await waitFor(() => h.conns.length === 3);
  });

  it('health_check: a matching datagram is answered without creating a connection', async () => {
    const h = await start(spec({}, { health_check: { request: 'ping?', reply: 'pong!' } }));
    const a = await newClient();
    a.send(h.port, 'ping?');
    await waitFor(() => a.got.length === 1);
    assert.equal(a.got[0]!.toString(), 'pong!');
    assert.equal(h.conns.length, 0);
    a.send(h.port, 'other');
    await waitFor(() => h.conns.length === 1);
  });

  it('applies udp_options (recbuf, sndbuf)', async () => {
    const h = await start(
      spec({}, { udp_options: { active_n: 100, reuseaddr: true, recbuf: '64KB', sndbuf: '64KB' } }),
    );
    assert.ok(h.port > 0);
    assert.equal(parseSize('2KB'), 2048);
    assert.equal(parseSize('1m'), 1024 * 1024);
    assert.equal(parseSize('100'), 100);
    assert.equal(parseSize('lots'), undefined);
  });

  it('stop() keeps existing peers able to send; stop(true) closes them', async () => {
    const h = await start(spec());
    const a = await newClient();
    a.send(h.port, 'x');
    await waitFor(() => h.conns.length === 1);
    await h.listener.stop();
    assert.equal(h.listener.running, false);
    h.conns[0]!.send(Buffer.from('bye'));
    await waitFor(() => a.got.length === 1);
    const b = await newClient();
    b.send(h.port, 'late');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.conns.length, 1);
    await h.listener.stop(true);
    assert.equal(h.closes.get(h.conns[0]!), 'local');
    assert.equal(h.listener.address(), undefined);
  });

  it('a dtls listener with neither PSK nor a certificate refuses to start, saying what is missing', async () => {
    const l = createDatagramListener(spec({ type: 'dtls' }), { onConnection() {} });
    await assert.rejects(
      l.start(),
      /no usable cipher suite: enable psk_authentication or set dtls_options certfile/,
    );
    assert.equal(l.running, false);
  });
});
