/**
 * Streaming behaviour: arbitrary chunking, many packets per chunk, Packet Too Large from the header alone,
 * zero-copy payloads, buffering accounting, robustness against garbage.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type MqttPacket,
  MqttParseError,
  MqttParser,
  type ProtocolVersion,
  type PublishPacket,
  serialize,
} from '../../src/mqtt/codec/index.js';
import { Collector, connectPacket, normalize, parserFor, samples, VERSIONS } from './codec-fixtures.js';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

/** A client's stream at `version`: CONNECT, then every c2s sample, optionally without the big one. */
function clientStream(version: ProtocolVersion, withBig: boolean): { bytes: Buffer; packets: MqttPacket[] } {
  const packets: MqttPacket[] = [connectPacket(version)];
  for (const s of samples(version)) {
    if (s.dir !== 'c2s' || s.packet.cmd === 'connect') continue;
    if (!withBig && s.packet.cmd === 'publish' && s.packet.payload.length > 1000) continue;
    packets.push(s.packet);
  }
  return { bytes: Buffer.concat(packets.map((p) => serialize(p, version))), packets };
}

/** Feeds chunks to a fresh server parser and returns what it delivered. */
function feed(chunks: Buffer[], maxPacketSize = 1 << 28): MqttPacket[] {
  const parser = new MqttParser({ role: 'server', maxPacketSize });
  const sink = new Collector();
  for (const c of chunks) {
    const err = parser.push(c, sink);
    if (err) throw err;
  }
  assert.equal(parser.buffered, 0);
  return sink.packets;
}

/** A copy of `b` over an ArrayBuffer of its own (small Buffers otherwise share Node's pool). */
function owned(b: Uint8Array): Buffer {
  return Buffer.from(new Uint8Array(b).buffer);
}

function publish(topic: string, payload: Buffer, qos: 0 | 1 | 2 = 0, packetId = 0): PublishPacket {
  return { cmd: 'publish', qos, dup: false, retain: false, topic, packetId, payload };
}

describe('fragmentation', () => {
  for (const version of VERSIONS) {
    it(`level ${version}: split in two at every byte boundary`, () => {
      const { bytes, packets } = clientStream(version, false);
      const expected = normalize(packets);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const got = feed([bytes.subarray(0, cut), bytes.subarray(cut)]);
        assert.deepStrictEqual(normalize(got), expected, `cut at ${cut}`);
      }
    });

    it(`level ${version}: one byte per chunk`, () => {
      const { bytes, packets } = clientStream(version, false);
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
      assert.deepStrictEqual(normalize(feed(chunks)), normalize(packets));
    });

    it(`level ${version}: random chunk sizes, big payload included`, () => {
      const { bytes, packets } = clientStream(version, true);
      const rand = rng(version);
      for (let round = 0; round < 20; round++) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; ) {
          const n = 1 + Math.floor(rand() * (round < 10 ? 40 : 20000));
          chunks.push(bytes.subarray(i, i + n));
          i += n;
        }
        assert.deepStrictEqual(normalize(feed(chunks)), normalize(packets), `round ${round}`);
      }
    });
  }

  for (const version of VERSIONS) {
    it(`level ${version}: borrowed chunks (one reused buffer, scribbled after every push) leave no trace`, () => {
      // As the TCP transport lends its shared read buffer: each read lands at the start of the same memory,
      // and the next read overwrites it. Nothing delivered, nor a packet cut between reads, may change.
      const { bytes, packets } = clientStream(version, true);
      const expected = normalize(packets);
      const rand = rng(100 + version);
      const scratch = Buffer.alloc(bytes.length);
      for (let round = 0; round < 20; round++) {
        const parser = new MqttParser({ role: 'server', maxPacketSize: 1 << 28 });
        const sink = new Collector();
        for (let i = 0; i < bytes.length; ) {
          const n = Math.min(bytes.length - i, 1 + Math.floor(rand() * (round < 10 ? 40 : 20000)));
          bytes.copy(scratch, 0, i, i + n);
          const err = parser.push(scratch.subarray(0, n), sink, true);
          if (err) throw err;
          scratch.fill(0xee);
          i += n;
        }
        assert.equal(parser.buffered, 0);
        assert.deepStrictEqual(normalize(sink.packets), expected, `round ${round}`);
      }
    });
  }

  it('many packets in one chunk, then the same in copies of every size', () => {
    const frames: Buffer[] = [serialize(connectPacket(4), 4)];
    const expected: MqttPacket[] = [connectPacket(4)];
    for (let i = 0; i < 1000; i++) {
      const p = publish(`t/${i}`, Buffer.from(`m${i}`), (i % 3) as 0 | 1 | 2, i % 3 === 0 ? 0 : i + 1);
      frames.push(serialize(p, 4));
      expected.push(p);
    }
    const all = Buffer.concat(frames);
    assert.deepStrictEqual(normalize(feed([all])), normalize(expected));
    // Chunk sizes around typical socket reads; copies so nothing is shared with `all`.
    for (const size of [3, 64, 1460, 16384]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(Buffer.from(all.subarray(i, i + size)));
      assert.deepStrictEqual(normalize(feed(chunks)), normalize(expected), `size ${size}`);
    }
  });

  it('payloads needing 3- and 4-byte remaining lengths, in 64 KiB chunks', () => {
    for (const size of [20000, 2_200_000]) {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 7 + 3) & 0xff;
      const p = publish('big/one', payload, 2, 77);
      const frame = serialize(p, 5);
      assert.equal(frame[1] & 0x80, 0x80);
      assert.equal(frame[size > 2_097_151 ? 4 : 3] & 0x80, 0);
      const chunks: Buffer[] = [serialize(connectPacket(5), 5)];
      for (let i = 0; i < frame.length; i += 65536) chunks.push(frame.subarray(i, i + 65536));
      const got = feed(chunks);
      assert.deepStrictEqual(normalize(got[1]), normalize(p));
    }
  });

  it('reports buffered bytes of an incomplete packet and nothing else', () => {
    const parser = parserFor('c2s', 4);
    const sink = new Collector();
    const frame = serialize(publish('a/b', Buffer.alloc(300, 1)), 4); // 3-byte header
    assert.equal(parser.buffered, 0);
    parser.push(frame.subarray(0, 1), sink);
    assert.equal(parser.buffered, 1);
    parser.push(frame.subarray(1, 2), sink);
    assert.equal(parser.buffered, 2);
    parser.push(frame.subarray(2, 3), sink);
    assert.equal(parser.buffered, 3);
    parser.push(frame.subarray(3, 100), sink);
    assert.equal(parser.buffered, 100);
    parser.push(Buffer.alloc(0), sink);
    assert.equal(parser.buffered, 100);
    parser.push(Buffer.concat([frame.subarray(100), frame.subarray(0, 10)]), sink);
    assert.equal(sink.packets.length, 1);
    assert.equal(parser.buffered, 10);
  });

  it('parses packets after the CONNECT in the same chunk at the CONNECT level', () => {
    const parser = new MqttParser({ role: 'server', maxPacketSize: 1000 });
    const sink = new Collector();
    const bytes = Buffer.concat([
      serialize(connectPacket(5), 5),
      serialize({ cmd: 'puback', packetId: 3, reasonCode: 0x10 }, 5),
    ]);
    assert.equal(parser.protocolVersion, 0);
    assert.equal(parser.push(bytes, sink), undefined);
    assert.equal(parser.protocolVersion, 5);
    assert.deepStrictEqual(normalize(sink.packets[1]), { cmd: 'puback', packetId: 3, reasonCode: 0x10 });
  });

  it('an error in a packet that spans chunks is reported when it completes', () => {
    const parser = parserFor('c2s', 4);
    const sink = new Collector();
    const bad = Buffer.from([0x30, 0x06, 0x00, 0x02, 0x61, 0x00, 0x41, 0x42]); // topic "a\0"
    assert.equal(parser.push(bad.subarray(0, 4), sink), undefined);
    const err = parser.push(bad.subarray(4), sink);
    assert.equal(err?.reasonCode, 0x81);
    assert.equal(parser.buffered, 0);
  });

  it('lets an exception from the sink propagate', () => {
    const parser = parserFor('c2s', 4);
    assert.throws(
      () =>
        parser.push(Buffer.from([0xc0, 0x00]), {
          onPacket() {
            throw new RangeError('sink failed');
          },
        }),
      RangeError,
    );
  });
});

describe('Packet Too Large', () => {
  it('is detected from the fixed header with only 5 bytes pushed', () => {
    const parser = parserFor('c2s', 5, 1 << 20);
    // PUBLISH declaring 2 MiB: 0x30, then 2097152 as a 4-byte variable byte integer.
    const header = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]);
    const err = parser.push(header, new Collector());
    assert.ok(err instanceof MqttParseError);
    assert.equal(err.reasonCode, 0x95);
    assert.equal(err.packetType, 'publish');
    assert.equal(parser.buffered, 0);
  });

  it('is detected when the header itself arrives in pieces', () => {
    const parser = parserFor('c2s', 4, 1000);
    const sink = new Collector();
    assert.equal(parser.push(Buffer.from([0x30, 0xe9]), sink), undefined);
    assert.equal(parser.buffered, 2);
    assert.equal(parser.push(Buffer.from([0x07]), sink)?.reasonCode, 0x95); // 1001 + 3 > 1000
  });

  it('counts header bytes: a total of exactly maxPacketSize passes, one more fails', () => {
    const ok = serialize(publish('t', Buffer.alloc(95)), 4); // 2 + 3 + 95 = 100
    assert.equal(ok.length, 100);
    assert.equal(parserFor('c2s', 4, 100).push(ok, new Collector()), undefined);
    const big = serialize(publish('t', Buffer.alloc(96)), 4);
    assert.equal(parserFor('c2s', 4, 100).push(big, new Collector())?.reasonCode, 0x95);
  });

  it('applies to the CONNECT and follows maxPacketSize changes between packets', () => {
    const connect = serialize(connectPacket(5, { clientId: 'x'.repeat(200) }), 5);
    assert.equal(
      new MqttParser({ role: 'server', maxPacketSize: 100 }).push(connect, new Collector())?.reasonCode,
      0x95,
    );
    const parser = new MqttParser({ role: 'server', maxPacketSize: 1000 });
    const frame = serialize(publish('t', Buffer.alloc(200)), 5);
    const err = parser.push(Buffer.concat([connect, frame, frame]), {
      onPacket(p) {
        if (p.cmd === 'publish') parser.maxPacketSize = 100;
      },
    });
    assert.equal(err?.reasonCode, 0x95);
  });

  it('does not allocate for a declared body before its bytes arrive', () => {
    const parser = parserFor('c2s', 4, 300_000_000);
    const sink = new Collector();
    // Declares 268435455 bytes, sends 10.
    parser.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61, 1, 2, 3, 4, 5, 6, 7]), sink);
    assert.equal(parser.buffered, 15);
    const before = process.memoryUsage().arrayBuffers;
    parser.push(Buffer.alloc(1000), sink);
    assert.ok(process.memoryUsage().arrayBuffers - before < 10_000_000);
    assert.equal(parser.buffered, 1015);
  });
});

describe('zero copy', () => {
  it('a PUBLISH payload inside one chunk is a view of that chunk', () => {
    const parser = parserFor('c2s', 5);
    const sink = new Collector();
    const frames = [publish('a', Buffer.from('first')), publish('b', Buffer.from('second'), 1, 9)];
    // Allocate outside the pool so the chunk owns its ArrayBuffer.
    const chunk = owned(Buffer.concat(frames.map((f) => serialize(f, 5))));
    assert.equal(parser.push(chunk, sink), undefined);
    for (const p of sink.packets as PublishPacket[]) {
      assert.equal(p.payload.buffer, chunk.buffer);
      // Mutating the chunk shows through: it is the same memory.
      const at = p.payload.byteOffset - chunk.byteOffset;
      chunk[at] ^= 0xff;
      assert.equal(p.payload[0], chunk[at]);
    }
  });

  it('a body that arrives whole after a split header is still a view of its chunk', () => {
    const parser = parserFor('c2s', 4);
    const sink = new Collector();
    const frame = serialize(publish('topic', Buffer.alloc(500, 7)), 4); // 3-byte header
    parser.push(frame.subarray(0, 2), sink);
    const rest = owned(frame.subarray(2));
    parser.push(rest, sink);
    assert.equal((sink.packets[0] as PublishPacket).payload.buffer, rest.buffer);
    // Header completed exactly at the end of a chunk, body in the next one.
    parser.push(frame.subarray(0, 1), sink);
    parser.push(frame.subarray(1, 3), sink);
    assert.equal(parser.buffered, 3);
    const body = owned(frame.subarray(3));
    parser.push(body, sink);
    assert.equal((sink.packets[1] as PublishPacket).payload.buffer, body.buffer);
  });

  it('a payload assembled from several chunks owns its memory', () => {
    const parser = parserFor('c2s', 4);
    const sink = new Collector();
    const frame = serialize(publish('topic', Buffer.alloc(500, 7)), 4);
    const a = owned(frame.subarray(0, 200));
    const b = owned(frame.subarray(200));
    parser.push(a, sink);
    parser.push(b, sink);
    const payload = (sink.packets[0] as PublishPacket).payload;
    assert.notEqual(payload.buffer, a.buffer);
    assert.notEqual(payload.buffer, b.buffer);
    a.fill(0);
    b.fill(0);
    assert.ok(payload.every((x) => x === 7));
  });

  it('other binary fields are copies', () => {
    const parser = new MqttParser({ role: 'server', maxPacketSize: 1000 });
    const sink = new Collector();
    const chunk = owned(
      serialize(
        connectPacket(4, {
          will: { topic: 'w', payload: Buffer.from('will'), qos: 0, retain: false },
          username: 'u',
          password: Buffer.from('pw'),
        }),
        4,
      ),
    );
    parser.push(chunk, sink);
    const p = sink.packets[0];
    assert.ok(p.cmd === 'connect');
    assert.notEqual(p.password?.buffer, chunk.buffer);
    assert.notEqual(p.will?.payload.buffer, chunk.buffer);
  });
});

describe('robustness', () => {
  it('never throws on random garbage, in either role', () => {
    const rand = rng(42);
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rand() * 64);
      const bytes = Buffer.alloc(n);
      for (let j = 0; j < n; j++) bytes[j] = Math.floor(rand() * 256);
      const role = i % 2 === 0 ? 'server' : 'client';
      const parser = new MqttParser({
        role,
        maxPacketSize: 1 << 16,
        protocolVersion: ((i % 3) + 3) as 3 | 4 | 5,
      });
      const err = parser.push(bytes, new Collector());
      assert.ok(err === undefined || err instanceof MqttParseError);
    }
  });

  it('never throws on mutated valid frames, and what it accepts re-encodes', () => {
    const rand = rng(7);
    for (const version of VERSIONS) {
      for (const s of samples(version)) {
        const frame = serialize(s.packet, version);
        if (frame.length > 5000) continue;
        for (let k = 0; k < 20; k++) {
          const m = Buffer.from(frame);
          const flips = 1 + Math.floor(rand() * 3);
          for (let f = 0; f < flips; f++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
          const parser =
            s.dir === 'c2s' && s.packet.cmd === 'connect'
              ? new MqttParser({ role: 'server', maxPacketSize: 1 << 20 })
              : parserFor(s.dir, version, 1 << 20);
          const sink = new Collector();
          const err = parser.push(m, sink);
          assert.ok(err === undefined || err instanceof MqttParseError);
          for (const p of sink.packets) {
            const v = p.cmd === 'connect' ? p.protocolVersion : version;
            assert.doesNotThrow(() => serialize(p, v), `${s.name} mutated to ${m.toString('hex')}`);
          }
        }
      }
    }
  });
});
