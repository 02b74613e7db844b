/**
 * The limits Hermod's gRPC server (transport/grpc-server.ts over h2-server.ts) keeps per connection, seen
 * from node:http2 as a raw client: the bytes of incomplete requests one connection may make it hold, and
 * the size of a request's header list. Passing either fails the offending call only; the connection and
 * other clients keep being served.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type GrpcServerOptions, GrpcUnaryServer } from '../../src/transport/grpc-server.js';
import {
  FLAG_END_HEADERS,
  FrameType,
  H2Error,
  headerOnly,
  PREFACE,
  settingsFrame,
} from '../../src/transport/h2-frame.js';

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

/** A whole unary call that echoes `size` bytes, with more request headers if given. */
function echo(
  session: http2.ClientHttp2Session,
  size: number,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<Outcome> {
  const req = session.request({ ...GRPC, ...headers });
  const done = outcome(req);
  req.end(Buffer.concat([prefix(size), Buffer.alloc(size, 7)]));
  return done;
}

/** A server of /t.T/Echo with these options; `told` collects what it says through onLimitExceeded. */
async function echoServer(options: GrpcServerOptions) {
  const told: string[] = [];
  const server = new GrpcUnaryServer({ ...options, onLimitExceeded: (reason) => told.push(reason) });
  server.add('/t.T/Echo', { deserialize: raw, serialize: raw, handle: async (r: Buffer) => r });
  return { server, told, port: await server.listen('127.0.0.1', 0) };
}

/** Header fields x-f000: v, x-f001: v, … */
function fields(n: number): http2.OutgoingHttpHeaders {
  const h: http2.OutgoingHttpHeaders = {};
  for (let i = 0; i < n; i++) h[`x-f${String(i).padStart(3, '0')}`] = 'v';
  return h;
}

describe('grpc-server: bytes of incomplete requests a connection may hold', () => {
  // With a cap of 1 MiB the connection window is 1 MiB too: at most 2 MiB of incomplete requests are held.
  const CAP = 1024 * KiB;
  let t: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    t = await echoServer({ maxMessageBytes: 512 * KiB, maxConnectionBufferBytes: CAP });
  });
  after(() => t.server.close());

  it('a peer that keeps requests half sent past the cap has streams reset; others are served', async () => {
    const session = await connect(t.port);
    const other = await connect(t.port);
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
      assert.equal(t.server.stats.bufferLimitResets, reset.length);
      assert.equal(t.told.length, 1, 'told once for the connection');
      assert.match(t.told[0]!, /incomplete requests/);

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
      assert.equal(t.server.stats.bufferLimitResets, reset.length, 'no more resets');
    } finally {
      session.close();
      other.close();
    }
  });
});

describe('grpc-server: request header list size', () => {
  const LIMIT = 16 * KiB;
  let t: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    t = await echoServer({ maxHeaderListBytes: LIMIT });
  });
  after(() => t.server.close());

  it('announces SETTINGS_MAX_HEADER_LIST_SIZE', async () => {
    const session = await connect(t.port);
    try {
      if (session.remoteSettings.maxHeaderListSize !== LIMIT)
        await new Promise((r) => session.once('remoteSettings', r));
      assert.equal(session.remoteSettings.maxHeaderListSize, LIMIT);
    } finally {
      session.close();
    }
  });

  it('an oversize header list fails that call with RESOURCE_EXHAUSTED; the next call on the connection succeeds', async () => {
    const session = await connect(t.port);
    try {
      const r = await echo(session, 2, { 'x-big': 'v'.repeat(20 * KiB) });
      assert.equal(r.h['grpc-status'], '8');
      assert.match(String(r.h['grpc-message']), /header list/);
      assert.equal((await echo(session, 10)).h['grpc-status'], '0');
      assert.equal(t.server.stats.oversizeHeaderLists, 1);
      assert.equal(t.server.stats.protocolErrors, 0);
    } finally {
      session.close();
    }
  });

  it('counts 32 bytes a field: many small fields pass the limit though their text alone does not', async () => {
    const session = await connect(t.port);
    try {
      // 420 fields of 'x-fNNN: v' count 7 + 1 + 32 = 40 bytes each as SETTINGS_MAX_HEADER_LIST_SIZE does:
      // 16,800 and the request's own ~300 pass 16 KiB, from 3,360 bytes of names and values.
      assert.equal((await echo(session, 2, fields(420))).h['grpc-status'], '8');
      // Half as many fit.
      assert.equal((await echo(session, 2, fields(210))).h['grpc-status'], '0');
      assert.equal(t.told.length, 2, 'told once a connection (two connections so far)');
    } finally {
      session.close();
    }
  });

  it('a header block that breaks HPACK is a connection error (GOAWAY COMPRESSION_ERROR)', async () => {
    const socket = net.connect(t.port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    const closed = new Promise((r) => socket.once('close', r));
    // Index 0 is not an HPACK field (RFC 7541 §6.1).
    const block = Buffer.from([0x80]);
    socket.write(
      Buffer.concat([
        PREFACE,
        settingsFrame([]),
        headerOnly(block.length, FrameType.HEADERS, FLAG_END_HEADERS, 1),
        block,
      ]),
    );
    await closed;
    const bytes = Buffer.concat(got);
    let code = -1;
    for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3))
      if (bytes[at + 3] === FrameType.GOAWAY) code = bytes.readUInt32BE(at + 13);
    assert.equal(code, H2Error.COMPRESSION_ERROR);
  });
});
