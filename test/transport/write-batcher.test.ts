import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { ConnectionHandler } from '../../src/transport/connection.js';
import {
  type ConnectionConfig,
  kReceiveRead,
  NodeSocketConnection,
} from '../../src/transport/stream-connection.js';
import { LARGE_FRAME_BYTES, markDirty, packFrames } from '../../src/transport/write-batcher.js';
import { nextTurn } from './helpers.js';

const config: ConnectionConfig = {
  listenerId: 'tcp:probe',
  transport: 'tcp',
  highWatermark: 1024 * 1024,
  sendTimeoutMs: 0,
  release() {},
};

/** Records what the batcher hands to the transport instead of writing it anywhere. */
class Probe extends NodeSocketConnection {
  readonly log: Array<{ op: 'one' | 'many' | 'end' | 'kill'; bufs: Buffer[] }> = [];

  constructor() {
    super(
      new net.Socket(),
      config,
      { peerhost: '127.0.0.1', peerport: 1, sockhost: '127.0.0.1', sockport: 2 },
      undefined,
    );
  }

  get writes(): Buffer[][] {
    return this.log.filter((e) => e.op === 'one' || e.op === 'many').map((e) => e.bufs);
  }

  pause(): void {}
  resume(): void {}
  protected writeOne(buf: Buffer): void {
    this.log.push({ op: 'one', bufs: [buf] });
  }
  protected writeMany(bufs: Buffer[]): void {
    this.log.push({ op: 'many', bufs });
  }
  protected endTransport(): boolean {
    this.log.push({ op: 'end', bufs: [] });
    return false;
  }
  protected killTransport(): void {
    this.log.push({ op: 'kill', bufs: [] });
  }
}

// A QoS 1 PUBLISH to topic "t" with payload "hi": the packet id sits at offset 5.
function publish(): Buffer {
  return Buffer.from([0x32, 0x07, 0x00, 0x01, 0x74, 0x00, 0x00, 0x68, 0x69]);
}

describe('write batcher', () => {
  it('writes a lone unpatched frame by reference', async () => {
    const probe = new Probe();
    const frame = Buffer.from([0xd0, 0x00]);
    probe.send(frame);
    assert.equal(probe.writes.length, 0, 'nothing is written synchronously');
    await nextTurn();
    assert.equal(probe.writes.length, 1);
    assert.equal(probe.writes[0][0], frame);
  });

  it('coalesces the frames of one turn into one buffer, in order', async () => {
    const probe = new Probe();
    const frames = [Buffer.from('one'), Buffer.from('two'), Buffer.alloc(100, 7), Buffer.from('end')];
    for (const f of frames) probe.send(f);
    assert.equal(probe.pendingBytes, 109);
    await nextTurn();
    assert.equal(probe.writes.length, 1);
    assert.equal(probe.writes[0].length, 1);
    assert.deepEqual(probe.writes[0][0], Buffer.concat(frames));
    assert.equal(probe.pendingBytes, 0);
    assert.deepEqual(probe.stats, { recvOct: 0, recvCnt: 0, sendOct: 109, sendCnt: 1 });
  });

  it('keeps separate turns as separate writes', async () => {
    const probe = new Probe();
    probe.send(Buffer.from('a'));
    await nextTurn();
    probe.send(Buffer.from('b'));
    probe.send(Buffer.from('c'));
    await nextTurn();
    assert.deepEqual(
      probe.writes.map((w) => Buffer.concat(w).toString()),
      ['a', 'bc'],
    );
  });

  it('coalesces frames queued by separate callbacks of one turn, as reads of several sockets', async () => {
    // Node drains its tick queue after each callback: frames a round-robin shared group sends to one member
    // from several publishers' reads of one poll phase must still leave in one write.
    const probe = new Probe();
    await new Promise<void>((resolve) => {
      setImmediate(() => probe.send(Buffer.from('a')));
      setImmediate(() => {
        probe.send(Buffer.from('b'));
        resolve();
      });
    });
    await nextTurn();
    assert.deepEqual(
      probe.writes.map((w) => Buffer.concat(w).toString()),
      ['ab'],
    );
  });

  it('flushes every connection queued in one turn, however many, and goes on working in later turns', async () => {
    const probes = Array.from({ length: 3000 }, () => new Probe());
    for (const [i, p] of probes.entries()) p.send(Buffer.from(`f${i}`));
    await nextTurn();
    for (const [i, p] of probes.entries()) {
      assert.deepEqual(
        p.writes.map((w) => Buffer.concat(w).toString()),
        [`f${i}`],
      );
    }
    probes[7].send(Buffer.from('again'));
    probes[2999].send(Buffer.from('again'));
    await nextTurn();
    assert.equal(probes[7].writes.length, 2);
    assert.equal(probes[2999].writes.length, 2);
    assert.equal(probes[8].writes.length, 1);
  });

  it('a frame queued during the flush pass (by a handler woken by an earlier flush) leaves in that pass', async () => {
    const probe = new Probe();
    markDirty({ flush: () => probe.send(Buffer.from('late')) });
    await nextTurn();
    assert.deepEqual(
      probe.writes.map((w) => Buffer.concat(w).toString()),
      ['late'],
    );
  });

  // A handler that answers every chunk with `reply(chunk)` frames on the connections it names.
  function answering(reply: (chunk: Buffer) => Array<[Probe, string]>): ConnectionHandler {
    return {
      onData: (chunk) => {
        for (const [to, text] of reply(chunk)) to.send(Buffer.from(text));
      },
      onClose() {},
    };
  }

  it('what a socket read makes a clean connection owe its own peer leaves at the end of that read', async () => {
    const probe = new Probe();
    probe.setHandler(
      answering((chunk) => [
        [probe, `ack-${chunk}`],
        [probe, '!'],
      ]),
    );
    probe[kReceiveRead](4, Buffer.from('ping'));
    assert.deepEqual(
      probe.writes.map((w) => Buffer.concat(w).toString()),
      ['ack-ping!'],
      'one write, before the turn ends',
    );
    await nextTurn();
    assert.equal(probe.writes.length, 1, 'nothing more in the pass');
  });

  it("a read's frames for other connections, and for one already queued for, wait for the turn's pass", async () => {
    const reader = new Probe();
    const other = new Probe();
    const busy = new Probe();
    busy.send(Buffer.from('earlier-'));
    reader.setHandler(
      answering(() => [
        [other, 'delivery'],
        [busy, 'delivery'],
      ]),
    );
    busy.setHandler(answering(() => [[busy, 'ack']]));
    reader[kReceiveRead](7, Buffer.from('publish'));
    busy[kReceiveRead](3, Buffer.from('pub'));
    assert.equal(other.writes.length, 0);
    assert.equal(busy.writes.length, 0, 'a connection other reads queued for keeps one write per turn');
    await nextTurn();
    assert.deepEqual(
      other.writes.map((w) => Buffer.concat(w).toString()),
      ['delivery'],
    );
    assert.deepEqual(
      busy.writes.map((w) => Buffer.concat(w).toString()),
      ['earlier-deliveryack'],
    );
  });

  it("a connection the turn's pass wrote for recently leaves its own read's frames to the pass", async () => {
    const member = new Probe();
    member.setHandler(answering(() => [[member, 'released']]));
    member.send(Buffer.from('delivery'));
    await nextTurn();
    member[kReceiveRead](6, Buffer.from('puback'));
    assert.equal(member.writes.length, 1, 'not written at the end of the read');
    member.send(Buffer.from('+more'));
    await nextTurn();
    assert.deepEqual(
      member.writes.map((w) => Buffer.concat(w).toString()),
      ['delivery', 'released+more'],
    );
  });

  it('patches the packet id in the copy only, per connection', async () => {
    const shared = publish();
    const pristine = Buffer.from(shared);
    const a = new Probe();
    const b = new Probe();
    a.sendPatched(shared, 5, 0x0102);
    b.sendPatched(shared, 5, 0xbeef);
    b.send(Buffer.from([0x40, 0x02, 0x00, 0x09]));
    await nextTurn();
    assert.deepEqual(shared, pristine, 'the shared frame is never written to');
    const outA = a.writes[0][0];
    const outB = b.writes[0][0];
    assert.notEqual(outA, shared);
    assert.equal(outA.readUInt16BE(5), 0x0102);
    assert.equal(outB.readUInt16BE(5), 0xbeef);
    assert.deepEqual(outA.subarray(7), shared.subarray(7));
    assert.deepEqual(outB.subarray(9), Buffer.from([0x40, 0x02, 0x00, 0x09]));
  });

  it('writes large frames by reference between packed runs', async () => {
    const probe = new Probe();
    const big = Buffer.alloc(LARGE_FRAME_BYTES + 1, 1);
    const bigPatched = Buffer.alloc(LARGE_FRAME_BYTES + 1, 2);
    probe.send(Buffer.from('a'));
    probe.send(Buffer.from('b'));
    probe.send(big);
    probe.sendPatched(bigPatched, 10, 0x0304);
    probe.send(Buffer.from('c'));
    await nextTurn();
    assert.equal(probe.log.length, 1);
    assert.equal(probe.log[0].op, 'many');
    const parts = probe.log[0].bufs;
    assert.equal(parts.length, 3);
    assert.deepEqual(parts[0], Buffer.from('ab'));
    assert.equal(parts[1], big, 'unpatched large frame is not copied');
    assert.equal(parts[2].length, bigPatched.length + 1);
    assert.equal(parts[2].readUInt16BE(10), 0x0304);
    assert.equal(bigPatched.readUInt16BE(10), 0x0202, 'large shared frame untouched');
    assert.equal(probe.stats.sendOct, 2 + big.length + bigPatched.length + 1);
  });

  it('rejects a patch offset outside the frame', () => {
    const probe = new Probe();
    assert.throws(() => probe.sendPatched(Buffer.alloc(4), 3, 1), RangeError);
    assert.throws(() => probe.sendPatched(Buffer.alloc(4), -1, 1), RangeError);
  });

  it('close flushes queued frames before ending; later sends are dropped', async () => {
    const probe = new Probe();
    probe.send(Buffer.from('x'));
    probe.send(Buffer.from('y'));
    probe.close();
    probe.send(Buffer.from('late'));
    assert.equal(probe.closed, true);
    await nextTurn();
    assert.deepEqual(
      probe.log.map((e) => e.op),
      ['one', 'end'],
    );
    assert.deepEqual(probe.log[0].bufs[0], Buffer.from('xy'));
    probe.destroy();
  });

  it('destroy discards queued frames', async () => {
    const probe = new Probe();
    probe.send(Buffer.from('x'));
    probe.destroy();
    probe.destroy();
    await nextTurn();
    assert.deepEqual(
      probe.log.map((e) => e.op),
      ['kill'],
    );
  });

  it('packFrames copies and patches a sub-range', () => {
    const frames = [Buffer.from('zz'), publish(), Buffer.alloc(40, 3)];
    const out = packFrames(frames, [-1, 5, -1], [0, 0x0a0b, 0], 1, 3, 49);
    assert.equal(out.length, 49);
    assert.equal(out.readUInt16BE(5), 0x0a0b);
    assert.deepEqual(out.subarray(9), Buffer.alloc(40, 3));
  });

  it('gives increasing ids', () => {
    const a = new Probe();
    const b = new Probe();
    assert.ok(b.id > a.id);
  });
});
