/**
 * Hermod's gRPC client (transport/grpc-h2.ts) against a server that answers anything: random HTTP statuses,
 * random or mutated length-prefixed bodies, random grpc-status and grpc-message values, answers with or
 * without trailers, streams reset with random HTTP/2 codes. Every call settles exactly once, with no
 * exception escaping; it is ok only for a well-formed OK answer, and then carries exactly the message sent.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { H2GrpcClient, type H2Method } from '../../src/transport/grpc-h2.js';
import { bytesArb, mutate, mutationsArb, socketParams } from './fuzz.js';

/** What the server does with the next call. */
interface Answer {
  kind: 'normal' | 'trailers-only' | 'reset' | 'http-error';
  httpStatus: number;
  body: Buffer;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  rstCode: number;
}

const frame = (m: Uint8Array) => {
  const out = Buffer.alloc(5 + m.length);
  out.writeUInt32BE(m.length, 1);
  out.set(m, 5);
  return out;
};

const answerArb: fc.Arbitrary<Answer> = fc.record({
  kind: fc.constantFrom('normal', 'trailers-only', 'reset', 'http-error'),
  httpStatus: fc.constantFrom(200, 400, 401, 403, 404, 429, 500, 502, 503, 504, 302),
  body: fc.oneof(
    bytesArb.map((b) => frame(b)),
    fc.tuple(bytesArb, mutationsArb).map(([b, m]) => mutate(frame(b), m)),
    bytesArb.map((b) => Buffer.from(b)),
  ),
  grpcStatus: fc.option(fc.oneof(fc.integer({ min: 0, max: 20 }).map(String), fc.string({ maxLength: 4 })), {
    nil: undefined,
  }),
  grpcMessage: fc.option(
    fc.oneof(
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.constantFrom('%', '%zz', '%E2%82', 'caf%C3%A9'),
    ),
    { nil: undefined },
  ),
  rstCode: fc.integer({ min: 0, max: 13 }),
});

const identity: H2Method<Buffer, Buffer> = {
  path: '/fuzz.F/Call',
  serialize: (b) => b,
  deserialize: (b) => b,
};

describe('fuzz: grpc-h2 client against arbitrary answers', () => {
  let server: http2.Http2Server;
  let client: H2GrpcClient;
  let next: Answer | undefined;

  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      const a = next!;
      if (a.kind === 'reset') {
        stream.close(a.rstCode);
        return;
      }
      const trailers: Record<string, string> = {};
      if (a.grpcStatus !== undefined) trailers['grpc-status'] = a.grpcStatus;
      if (a.grpcMessage !== undefined) trailers['grpc-message'] = a.grpcMessage;
      const status = a.kind === 'http-error' ? a.httpStatus : 200;
      if (a.kind === 'trailers-only' || a.kind === 'http-error') {
        stream.respond(
          { ':status': status, 'content-type': 'application/grpc', ...trailers },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = new H2GrpcClient({ origin: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}` });
  });
  after(() => {
    client.close();
    server.close();
  });

  it('settles every call once, ok only for a well-formed OK answer', async () => {
    await fc.assert(
      fc.asyncProperty(answerArb, async (a) => {
        next = a;
        const r = await client.unary(identity, Buffer.from('ping'), Date.now() + 5000);
        const wellFormed =
          a.kind === 'normal' &&
          a.grpcStatus === '0' &&
          a.body.length >= 5 &&
          a.body[0] === 0 &&
          a.body.length >= 5 + a.body.readUInt32BE(1);
        assert.equal(r.ok, wellFormed, JSON.stringify(r));
        if (r.ok) assert.deepEqual(r.response, a.body.subarray(5, 5 + a.body.readUInt32BE(1)));
        else assert.equal(typeof r.message, 'string');
      }),
      socketParams(150),
    );
    // The session still serves a normal answer.
    next = {
      kind: 'normal',
      httpStatus: 200,
      body: frame(Buffer.from('ok')),
      grpcStatus: '0',
      grpcMessage: undefined,
      rstCode: 0,
    };
    const r = await client.unary(identity, Buffer.from('ping'), Date.now() + 5000);
    assert.deepEqual(r, { ok: true, response: Buffer.from('ok') });
  });
});
