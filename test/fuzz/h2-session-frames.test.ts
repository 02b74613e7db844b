/**
 * Hermod's HTTP/2 framing (transport/h2-session.ts) against a server that sends a proper SETTINGS frame and
 * then arbitrary bytes: random frames, or a well-formed gRPC answer mutated. Every call settles exactly
 * once before its deadline with no exception escaping, and the client still works with the next server.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { H2GrpcClient, type H2Method } from '../../src/transport/grpc-h2.js';
import { bytesArb, mutate, mutationsArb, socketParams } from './fuzz.js';

const identity: H2Method<Buffer, Buffer> = {
  path: '/fuzz.F/Call',
  serialize: (b) => b,
  deserialize: (b) => b,
};

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/** A complete answer to stream 1: HEADERS :status 200, DATA with a message, trailers grpc-status 0. */
const GOOD = Buffer.concat([
  frame(1, 4, 1, Buffer.from([0x88])),
  frame(0, 0, 1, Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b])),
  frame(1, 5, 1, Buffer.from('000b677270632d7374617475730130', 'hex')),
]);

const randomFrame = fc
  .tuple(
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0, 1, 3),
    bytesArb,
  )
  .map(([t, f, id, p]) => frame(t, f, id, Buffer.from(p)));

const answerArb = fc.oneof(
  fc.array(randomFrame, { maxLength: 4 }).map((fs) => Buffer.concat(fs)),
  mutationsArb.map((m) => mutate(GOOD, m)),
  bytesArb.map((b) => Buffer.from(b)),
);

describe('fuzz: HTTP/2 framing against arbitrary server bytes', () => {
  let server: net.Server;
  let port = 0;
  let next: Buffer = GOOD;
  before(async () => {
    server = net.createServer((s) => {
      s.on('error', () => {});
      s.write(frame(4, 0, 0, Buffer.alloc(0)));
      s.once('data', () => s.write(next));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('settles every call once, by its deadline, and reads a good answer after any bad one', async () => {
    await fc.assert(
      fc.asyncProperty(answerArb, async (answer) => {
        const client = new H2GrpcClient({
          origin: `http://127.0.0.1:${port}`,
          authority: `127.0.0.1:${port}`,
        });
        try {
          next = answer;
          let settled = 0;
          const r = await client.unary(identity, Buffer.from('ping'), Date.now() + 1000).then((x) => {
            settled++;
            return x;
          });
          assert.equal(settled, 1);
          if (r.ok) assert.ok(Buffer.isBuffer(r.response));
          else assert.equal(typeof r.message, 'string');
        } finally {
          client.close();
        }
      }),
      socketParams(60),
    );
    next = GOOD;
    const client = new H2GrpcClient({ origin: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}` });
    try {
      assert.deepEqual(await client.unary(identity, Buffer.from('ping'), Date.now() + 5000), {
        ok: true,
        response: Buffer.from('ok'),
      });
    } finally {
      client.close();
    }
  });
});
