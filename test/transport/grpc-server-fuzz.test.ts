/**
 * Hermod's gRPC server (transport/grpc-server.ts over h2-server.ts) fed arbitrary bytes and mutated valid
 * HTTP/2 conversations on real sockets, in chunks of arbitrary sizes: nothing escapes as an exception (no
 * internal error counted, the process keeps running), a connection the server finds broken is answered with
 * GOAWAY and closed, every connection is gone once its peer hangs up, and a grpc-js client on its own
 * connection is served after each case.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import fc from 'fast-check';
import { GrpcUnaryServer } from '../../src/transport/grpc-server.js';
import {
  FrameType,
  goaway,
  headerOnly,
  PREFACE,
  settingsFrame,
  windowUpdate,
} from '../../src/transport/h2-frame.js';
import { encodeIndexed, encodeLiteral } from '../../src/transport/hpack.js';
import { bytesArb, chunk, cutsArb, mutate, mutationsArb, socketParams } from '../fuzz/fuzz.js';

const raw = (b: Buffer) => b;

const frame = (type: number, flags: number, id: number, payload: Buffer) =>
  Buffer.concat([headerOnly(payload.length, type, flags, id), payload]);

/** A valid conversation: two Echo calls (one split over CONTINUATION and DATA frames), PING, a window update. */
function validConversation(): Buffer {
  const block = Buffer.concat([
    encodeIndexed(3), // :method POST
    encodeIndexed(6), // :scheme http
    encodeLiteral(':path', '/t.T/Echo'),
    encodeLiteral(':authority', 'fuzz'),
    encodeLiteral('content-type', 'application/grpc'),
    encodeLiteral('te', 'trailers'),
    encodeLiteral('grpc-timeout', '5S'),
  ]);
  const msg = Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]);
  return Buffer.concat([
    PREFACE,
    settingsFrame([[4, 1 << 20]]),
    windowUpdate(0, 1 << 20),
    frame(FrameType.HEADERS, 0x4, 1, block),
    frame(FrameType.DATA, 0x1, 1, msg),
    frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7)),
    frame(FrameType.HEADERS, 0, 3, block.subarray(0, 10)),
    frame(FrameType.CONTINUATION, 0x4, 3, block.subarray(10)),
    frame(FrameType.DATA, 0, 3, msg.subarray(0, 3)),
    frame(FrameType.DATA, 0x1, 3, msg.subarray(3)),
    frame(FrameType.SETTINGS, 1, 0, Buffer.alloc(0)),
    goaway(3, 0),
  ]);
}

/** Whether a server's bytes hold a GOAWAY frame (walking the frames from the start). */
function hasGoaway(bytes: Buffer): boolean {
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3))
    if (bytes[at + 3] === FrameType.GOAWAY) return true;
  return false;
}

describe('grpc-server: arbitrary and mutated byte streams', () => {
  let server: GrpcUnaryServer;
  let port: number;
  let client: Client;
  before(async () => {
    server = new GrpcUnaryServer();
    server.add('/t.T/Echo', { deserialize: raw, serialize: raw, handle: async (b: Buffer) => b });
    port = await server.listen('127.0.0.1', 0);
    client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  after(() => {
    client.close();
    server.close();
  });

  const echo = () =>
    new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest('/t.T/Echo', raw, raw, Buffer.from('alive'), new Metadata(), (e, r) =>
        e ? reject(e) : resolve(r!),
      ),
    );

  /** Sends the chunks, hangs up, and returns what the server sent and whether it closed in time. */
  async function feed(chunks: Buffer[]): Promise<{ got: Buffer; closed: boolean }> {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => s.once('connect', r));
    for (const c of chunks) {
      if (s.destroyed) break;
      s.write(c);
      await new Promise((r) => setImmediate(r));
    }
    s.end();
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 3000);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    s.destroy();
    return { got: Buffer.concat(got), closed };
  }

  it('no exception escapes, broken connections get GOAWAY, others keep being served', async () => {
    const valid = validConversation();
    const input = fc.oneof(
      bytesArb.map((b) => Buffer.from(b)),
      bytesArb.map((b) => Buffer.concat([PREFACE, b])),
      bytesArb.map((b) => Buffer.concat([PREFACE, settingsFrame([]), b])),
      mutationsArb.map((m) => mutate(valid, m)),
    );
    await fc.assert(
      fc.asyncProperty(input, cutsArb, async (bytes, cuts) => {
        const before = server.stats.protocolErrors;
        const { got, closed } = await feed(chunk(bytes, cuts));
        assert.ok(closed, 'the connection closes once the peer hung up');
        if (server.stats.protocolErrors > before)
          assert.ok(hasGoaway(got), 'a protocol error is told in GOAWAY');
        assert.equal(server.stats.internalErrors, 0);
        assert.equal((await echo()).toString(), 'alive');
      }),
      socketParams(120),
    );
    // The valid conversation itself is answered: both calls echo.
    const { got } = await feed([valid]);
    assert.equal(got.toString('latin1').split('hello').length - 1, 2);
    assert.equal(server.stats.connections, 1, 'only the grpc-js client is left');
  });
});
