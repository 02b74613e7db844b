import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createListener } from '../../src/transport/index.js';
import {
  closedSocket,
  collect,
  connectTcp,
  type Harness,
  listenerOptions,
  nextTurn,
  Recorder,
  startHarness,
  waitFor,
} from './helpers.js';

describe('tcp listener', () => {
  const harnesses: Harness[] = [];
  const start = async (...args: Parameters<typeof listenerOptions>): Promise<Harness> => {
    const h = await startHarness(listenerOptions(...args));
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  it('binds port 0, reports the bound address and the connection details', async () => {
    const h = await start('tcp');
    assert.ok(h.port > 0);
    assert.equal(h.listener.running, true);
    assert.equal(h.listener.address()?.host, '127.0.0.1');
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    assert.equal(conn.transport, 'tcp');
    assert.equal(conn.kind, 'stream');
    assert.equal(conn.listenerId, 'tcp:test');
    assert.equal(conn.peerhost, '127.0.0.1');
    assert.equal(conn.peerport, client.localPort);
    assert.equal(conn.sockport, h.port);
    assert.equal(conn.peerCert, undefined);
    assert.equal(h.listener.currentConnections, 1);
    client.destroy();
    await waitFor(() => h.listener.currentConnections === 0);
  });

  it("bound to every address, reports each connection's own local end; keepalive on still connects", async () => {
    const h = await start('tcp', { bind: { host: '0.0.0.0', port: 0 } }, { keepalive: true, nodelay: false });
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    assert.equal(conn.sockhost, '127.0.0.1');
    assert.equal(conn.sockport, h.port);
    assert.equal(conn.peerport, client.localPort);
    const got = collect(client);
    const r = new Recorder(conn);
    conn.setHandler(r);
    conn.send(Buffer.from('hello'));
    assert.equal((await got.bytes(5)).toString(), 'hello');
    client.write('back');
    assert.equal((await r.waitBytes(4)).toString(), 'back');
    client.destroy();
    await waitFor(() => h.listener.currentConnections === 0);
  });

  it('start() rejects when the port is taken or options are missing', async () => {
    const h = await start('tcp');
    const clash = createListener(listenerOptions('tcp', { bind: { host: '127.0.0.1', port: h.port } }), {
      onConnection() {},
    });
    await assert.rejects(clash.start(), /EADDRINUSE/);
    assert.equal(clash.running, false);
    const noTls = createListener(listenerOptions('ssl'), { onConnection() {} });
    await assert.rejects(noTls.start(), /tls options/);
  });

  it('echoes data, batches a tick into one write and keeps order', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const got = collect(client);
    const conn = await h.connection();
    const rec = new Recorder(conn);
    conn.setHandler(rec);
    client.write('ping');
    await got.bytes(4);
    assert.equal(got.data().toString(), 'ping');
    const before = conn.stats.sendCnt;
    conn.send(Buffer.from('a'));
    conn.send(Buffer.from('b'));
    conn.send(Buffer.from('c'));
    await got.bytes(7);
    assert.equal(conn.stats.sendCnt - before, 1, 'three frames, one write');
    assert.equal(got.data().toString(), 'pingabc');
    assert.equal(conn.stats.recvOct, 4);
    assert.ok(conn.stats.recvCnt >= 1);
    client.destroy();
  });

  it("keeps every connection's bytes apart and intact although reads share one buffer", async () => {
    const h = await start('tcp');
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectTcp(h.port)));
    const recorders: Recorder[] = [];
    for (let i = 0; i < clients.length; i++) {
      const rec = new Recorder();
      (await h.connection(i)).setHandler(rec);
      recorders.push(rec);
    }
    // Each client's own byte value, in rounds, so reads of different sockets interleave.
    const rounds = 50;
    const size = 1000;
    for (let r = 0; r < rounds; r++) {
      clients.forEach((c, i) => {
        c.write(Buffer.alloc(size, i + 1));
      });
      await nextTurn();
    }
    await Promise.all(recorders.map((rec) => rec.waitBytes(rounds * size)));
    const owners = new Set<number>();
    for (const rec of recorders) {
      // Chunks held since the first reads must not have been overwritten by later reads of other sockets.
      const got = rec.received;
      assert.equal(got.length, rounds * size);
      assert.ok(
        got.every((b) => b === got[0]),
        'a connection saw bytes of another one',
      );
      owners.add(got[0]!);
    }
    assert.equal(owners.size, clients.length, "each connection got exactly one client's bytes");
    for (const c of clients) c.destroy();
  });

  it('sendPatched gives each connection its own packet id over real sockets', async () => {
    const h = await start('tcp');
    const c1 = await connectTcp(h.port);
    const c2 = await connectTcp(h.port);
    const g1 = collect(c1);
    const g2 = collect(c2);
    const a = await h.connection(0);
    const b = await h.connection(1);
    const shared = Buffer.from([0x32, 0x07, 0x00, 0x01, 0x74, 0x00, 0x00, 0x68, 0x69]);
    const copy = Buffer.from(shared);
    a.sendPatched(shared, 5, 11);
    b.sendPatched(shared, 5, 22);
    const [r1, r2] = await Promise.all([g1.bytes(9), g2.bytes(9)]);
    assert.equal(r1.readUInt16BE(5), 11);
    assert.equal(r2.readUInt16BE(5), 22);
    assert.deepEqual(shared, copy);
    c1.destroy();
    c2.destroy();
  });

  it('buffers data that arrives before setHandler', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    client.write('early');
    await new Promise((r) => setTimeout(r, 50));
    const rec = new Recorder();
    conn.setHandler(rec);
    assert.equal(rec.received.toString(), 'early');
    client.end();
    assert.equal(await rec.closed(), 'closed');
  });

  it('reports a close that happened before setHandler, after the buffered data', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    client.end('bye');
    await waitFor(() => conn.closed);
    await new Promise((r) => setTimeout(r, 20));
    const rec = new Recorder();
    conn.setHandler(rec);
    assert.equal(rec.received.toString(), 'bye');
    assert.equal(await rec.closed(), 'closed');
    assert.equal(rec.closeCount, 1);
  });

  it('close() flushes queued frames, then ends; onClose says local', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const got = collect(client);
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    conn.send(Buffer.from('last words'));
    conn.close();
    conn.close();
    assert.equal(conn.closed, true);
    await closedSocket(client);
    assert.equal(got.data().toString(), 'last words');
    assert.equal(await rec.closed(), 'local');
    assert.equal(rec.closeCount, 1);
  });

  it('close() behind a write the kernel could not take at once still delivers every byte, then ends', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    client.pause();
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    // Far more than the loopback socket buffers hold while the client does not read.
    const big = Buffer.alloc(16 * 1024 * 1024, 0x5a);
    big[big.length - 1] = 0x21;
    conn.send(big);
    conn.send(Buffer.from('tail'));
    await nextTurn();
    assert.ok(conn.pendingBytes > 0, 'part of the write waits in the transport');
    conn.close();
    const got = collect(client);
    client.resume();
    await closedSocket(client);
    const data = got.data();
    assert.equal(data.length, big.length + 4);
    assert.equal(data[big.length - 1], 0x21);
    assert.equal(data.subarray(big.length).toString(), 'tail');
    assert.equal(await rec.closed(), 'local');
    assert.equal(rec.closeCount, 1);
    assert.equal(conn.stats.sendOct, big.length + 4);
  });

  it('destroy() discards queued frames', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const got = collect(client);
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    conn.send(Buffer.from('never sent'));
    conn.destroy();
    await closedSocket(client);
    assert.equal(got.data().length, 0);
    assert.equal(await rec.closed(), 'local');
  });

  it('peer FIN gives closed; peer reset gives reset', async () => {
    const h = await start('tcp');
    const fin = await connectTcp(h.port);
    const c1 = await h.connection(0);
    const r1 = new Recorder();
    c1.setHandler(r1);
    fin.end();
    assert.equal(await r1.closed(), 'closed');

    const rst = await connectTcp(h.port);
    rst.on('error', () => {});
    const c2 = await h.connection(1);
    const r2 = new Recorder();
    c2.setHandler(r2);
    await nextTurn();
    rst.resetAndDestroy();
    assert.equal(await r2.closed(), 'reset');
    assert.ok(r2.closeError instanceof Error);
    // Node's shape for a failed read: what the channels log.
    assert.equal(r2.closeError.message, 'read ECONNRESET');
    assert.equal((r2.closeError as NodeJS.ErrnoException).code, 'ECONNRESET');
    assert.equal(r2.closeCount, 1);
  });

  it('refuses connections over max_connections at once', async () => {
    const h = await start('tcp', { maxConnections: 2 });
    const a = await connectTcp(h.port);
    const b = await connectTcp(h.port);
    await h.connection(1);
    const c = await connectTcp(h.port);
    await closedSocket(c);
    await h.refused(1);
    assert.equal(h.refusals[0].reason, 'max_connections');
    assert.equal(h.refusals[0].peerhost, '127.0.0.1');
    assert.equal(h.connections.length, 2);
    assert.equal(h.listener.currentConnections, 2);
    a.destroy();
    await waitFor(() => h.listener.currentConnections === 1);
    const d = await connectTcp(h.port);
    await h.connection(2);
    b.destroy();
    d.destroy();
  });

  it('smooths a burst over max_conn_rate instead of refusing it', async () => {
    const h = await start('tcp', { maxConnRate: 5 });
    const t0 = Date.now();
    const clients = await Promise.all(Array.from({ length: 10 }, () => connectTcp(h.port)));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(h.connections.length <= 6, `burst admitted ${h.connections.length} at once`);
    await h.connection(9);
    const elapsed = Date.now() - t0;
    assert.equal(h.refusals.length, 0);
    assert.equal(h.connections.length, 10);
    assert.ok(elapsed >= 700, `ten connections at 5/s took only ${elapsed} ms`);
    // Held sockets were only paused: their bytes arrive once admitted.
    const last = h.connections[9];
    const rec = new Recorder();
    last.setHandler(rec);
    const client = clients.find((c) => c.localPort === last.peerport)!;
    client.write('hello');
    await rec.waitBytes(5);
    for (const c of clients) c.destroy();
  });

  it('refuses extras when the rate backlog is absurdly long', async () => {
    const h = await start('tcp', { maxConnRate: 1 });
    const clients = await Promise.all(Array.from({ length: 9 }, () => connectTcp(h.port)));
    await h.refused(3);
    assert.ok(h.refusals.every((r) => r.reason === 'max_connections'));
    assert.ok(h.connections.length <= 2);
    for (const c of clients) c.destroy();
  });

  it('stop(true) stops accepting and destroys live connections', async () => {
    const h = await startHarness(listenerOptions('tcp'));
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    const port = h.port;
    await h.listener.stop(true);
    assert.equal(h.listener.running, false);
    assert.equal(await rec.closed(), 'local');
    await closedSocket(client);
    await assert.rejects(connectTcp(port));
  });

  it('stop() leaves live connections to their owners', async () => {
    const h = await startHarness(listenerOptions('tcp'));
    const client = await connectTcp(h.port);
    const got = collect(client);
    const conn = await h.connection();
    await h.listener.stop();
    conn.send(Buffer.from('still here'));
    await got.bytes(10);
    assert.equal(h.listener.currentConnections, 1);
    // A later stop(true) still closes what the first stop left open.
    await h.listener.stop(true);
    await closedSocket(client);
    assert.equal(h.listener.currentConnections, 0);
  });

  it('pause() stops reading and resume() restarts it', async () => {
    const h = await start('tcp');
    const client = await connectTcp(h.port);
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    conn.pause();
    client.write('held');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rec.received.length, 0);
    conn.resume();
    await rec.waitBytes(4);
    client.destroy();
  });
});
