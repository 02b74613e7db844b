/**
 * The limits Hermod's gRPC server (transport/grpc-server.ts over h2-server.ts) keeps per connection, seen
 * from node:http2 as a raw client: the bytes of incomplete requests one connection may make it hold, and
 * the size of a request's header list. Passing either fails the offending call only; the connection and
 * other clients keep being served.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { GrpcUnaryServer } from '../../src/transport/grpc-server.js';

const raw = (b: Buffer) => b;
const KiB = 1024;

/** A gRPC message prefix: uncompressed, `length` bytes announced. */
function prefix(length: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
}

/** What a stream ended with: its headers and trailers merged, and its RST_STREAM code. */
interface Outcome {
  h: Record<string, unknown>;
  rstCode: number;
  body: number;
}

function outcome(req: http2.ClientHttp2Stream): Promise<Outcome> {
  return new Promise((resolve) => {
    const h: Record<string, unknown> = {};
    let body = 0;
    req.on('response', (r) => Object.assign(h, r));
    req.on('trailers', (t) => Object.assign(h, t));
    req.on('data', (c: Buffer) => {
      body += c.length;
    });
    // A reset stream reports its own reset as an error: the code is what the tests look at.
    req.on('error', () => {});
    req.on('close', () => resolve({ h, rstCode: req.rstCode ?? 0, body }));
  });
}

function connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const GRPC = { ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/grpc', te: 'trailers' };

/** A whole unary call: echoes `size` bytes. */
async function echo(session: http2.ClientHttp2Session, size: number): Promise<Outcome> {
  const req = session.request(GRPC);
  const done = outcome(req);
  req.end(Buffer.concat([prefix(size), Buffer.alloc(size, 7)]));
  return done;
}

describe('grpc-server: bytes of incomplete requests a connection may hold', () => {
  // With a cap of 1 MiB the connection window is 1 MiB too: at most 2 MiB of incomplete requests are held.
  const CAP = 1024 * KiB;
  let server: GrpcUnaryServer;
  let port: number;
  const told: string[] = [];
  before(async () => {
    server = new GrpcUnaryServer({
      maxMessageBytes: 512 * KiB,
      maxConnectionBufferBytes: CAP,
      onLimitExceeded: (reason) => told.push(reason),
    });
    server.add('/t.T/Echo', { deserialize: raw, serialize: raw, handle: async (r: Buffer) => r });
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => server.close());

  it('a peer that keeps requests half sent past the cap has streams reset; others are served', async () => {
    const session = await connect(port);
    const other = await connect(port);
    try {
      // Sixteen requests of 200 KiB announced with 150 KiB of each sent: 2.4 MiB that never completes.
      const partial = Array.from({ length: 16 }, () => {
        const req = session.request(GRPC);
        const done = outcome(req);
        let closed = false;
        const settled = new Promise<void>((resolve) => {
          req.write(Buffer.concat([prefix(200 * KiB), Buffer.alloc(150 * KiB, 1)]), () => resolve());
          void done.then(() => {
            closed = true;
            resolve();
          });
        });
        return { req, done, settled, closed: () => closed };
      });
      // Every write went out or its stream was reset; the PING answer says the server read it all.
      await Promise.all(partial.map((p) => p.settled));
      await new Promise((r) => session.ping(r));

      const reset = partial.filter((p) => p.closed());
      const kept = partial.filter((p) => !p.closed());
      assert.ok(reset.length >= 1, 'some streams were reset');
      assert.ok(kept.length * 150 * KiB <= 2 * CAP, `${kept.length} streams keep 150 KiB each`);
      for (const p of reset) assert.equal((await p.done).rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      assert.equal(server.stats.bufferLimitResets, reset.length);
      assert.equal(told.length, 1, 'told once for the connection');
      assert.match(told[0]!, /incomplete requests/);

      // Another connection is not concerned.
      assert.equal((await echo(other, 300 * KiB)).h['grpc-status'], '0');

      // Once the peer gives up its half-sent requests, the same connection takes large calls again.
      for (const p of kept) p.req.close(http2.constants.NGHTTP2_CANCEL);
      await Promise.all(kept.map((p) => p.done));
      const calls = await Promise.all(Array.from({ length: 4 }, () => echo(session, 300 * KiB)));
      for (const r of calls) {
        assert.equal(r.h['grpc-status'], '0');
        assert.equal(r.body, 5 + 300 * KiB);
      }
      assert.equal(server.stats.bufferLimitResets, reset.length, 'no more resets');
    } finally {
      session.close();
      other.close();
    }
  });
});
