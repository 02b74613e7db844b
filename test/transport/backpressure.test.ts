import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Connection } from '../../src/transport/connection.js';
import {
  connectTcp,
  type Harness,
  listenerOptions,
  nextTurn,
  Recorder,
  startHarness,
  waitFor,
} from './helpers.js';

// Queues big frames tick by tick until the connection says it is congested (the peer is not reading).
async function fillUntilCongested(conn: Connection): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024, 1);
  let sent = 0;
  while (!conn.congested) {
    if (sent > 1024 * 1024 * 1024) throw new Error('never congested');
    conn.send(chunk);
    sent += chunk.length;
    await nextTurn();
  }
  return sent;
}

describe('back-pressure', () => {
  const harnesses: Harness[] = [];
  const start = async (tcp: Parameters<typeof listenerOptions>[2]): Promise<Harness> => {
    const h = await startHarness(listenerOptions('tcp', {}, tcp));
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  it('a peer that does not read makes the connection congested; onDrain fires once it reads', async () => {
    const h = await start({ highWatermark: 256 * 1024, sendTimeoutMs: 60_000 });
    const client = await connectTcp(h.port);
    client.pause();
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    const sent = await fillUntilCongested(conn);
    assert.ok(conn.pendingBytes > 256 * 1024);
    assert.equal(rec.drains, 0);
    let received = 0;
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.resume();
    await waitFor(() => rec.drains === 1, 20_000, 'onDrain');
    assert.equal(conn.congested, false);
    await waitFor(() => received === sent, 20_000, 'all bytes');
    assert.equal(conn.stats.sendOct, sent);
    client.destroy();
  });

  it('drops a connection whose writes make no progress for send_timeout', async () => {
    const h = await start({ highWatermark: 64 * 1024, sendTimeoutMs: 300 });
    const client = await connectTcp(h.port);
    client.pause();
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    await fillUntilCongested(conn);
    assert.equal(await rec.closed(), 'timeout');
    assert.equal(conn.closed, true);
    client.destroy();
  });

  it('close() on a peer that never reads still ends the connection', { timeout: 20_000 }, async () => {
    const h = await start({ highWatermark: 64 * 1024, sendTimeoutMs: 0 });
    const client = await connectTcp(h.port);
    client.pause();
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    await fillUntilCongested(conn);
    conn.close();
    assert.equal(await rec.closed(), 'local');
    client.destroy();
  });

  it('frames sent one per turn to a peer that stops reading all arrive, in order, once it reads again', async () => {
    const h = await start({ highWatermark: 64 * 1024, sendTimeoutMs: 60_000 });
    const client = await connectTcp(h.port);
    client.pause();
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    // Lone frames: each turn's one frame is written on its own, first while the kernel still takes them, then
    // while earlier ones wait in the socket's queues, until the connection reports congestion; then a few more.
    const FRAME = 4 * 1024;
    let frames = 0;
    const sendOne = (): void => {
      const frame = Buffer.alloc(FRAME, frames & 0xff);
      frame.writeUInt32BE(frames, 0);
      conn.send(frame);
      frames++;
    };
    while (!conn.congested) {
      if (frames > 100_000) throw new Error('never congested');
      sendOne();
      await nextTurn();
    }
    for (let i = 0; i < 10; i++) {
      sendOne();
      await nextTurn();
    }
    const chunks: Buffer[] = [];
    let received = 0;
    client.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    client.resume();
    await waitFor(() => received === frames * FRAME, 20_000, 'all frames');
    await waitFor(() => rec.drains === 1, 5_000, 'onDrain');
    assert.equal(conn.pendingBytes, 0);
    const all = Buffer.concat(chunks);
    for (let i = 0; i < frames; i++) {
      assert.equal(all.readUInt32BE(i * FRAME), i, `frame ${i} in place`);
      assert.equal(all[i * FRAME + FRAME - 1], i & 0xff, `frame ${i} complete`);
    }
    assert.equal(conn.stats.sendOct, frames * FRAME);
    client.destroy();
  });
});
