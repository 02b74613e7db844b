/**
 * Hermod's gRPC server (transport/grpc-server.ts) seen from node:http2, a client that does not enforce
 * deadlines itself: a method that never answers is ended by the server at the caller's grpc-timeout, and
 * requests that are not gRPC get plain HTTP statuses.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { GrpcUnaryServer } from '../../src/transport/grpc-server.js';

const raw = (b: Buffer) => b;

describe('grpc-server: deadlines and non-gRPC requests', () => {
  let server: GrpcUnaryServer;
  let session: http2.ClientHttp2Session;
  before(async () => {
    server = new GrpcUnaryServer();
    server.add('/t.T/Never', {
      deserialize: raw,
      serialize: raw,
      handle: () => new Promise<Buffer>(() => {}),
    });
    const port = await server.listen('127.0.0.1', 0);
    session = http2.connect(`http://127.0.0.1:${port}`);
  });
  after(() => {
    session.close();
    server.close();
  });

  /** One request: its response headers merged with its trailers, and how long it took. */
  function request(
    headers: http2.OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<{ h: Record<string, unknown>; ms: number }> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ...headers });
      const h: Record<string, unknown> = {};
      req.on('response', (r) => Object.assign(h, r));
      req.on('trailers', (t) => Object.assign(h, t));
      req.on('error', reject);
      req.on('close', () => resolve({ h, ms: Date.now() - t0 }));
      req.resume();
      if (body.length > 0) req.end(body);
      else req.end();
    });
  }

  it('grpc-timeout: a call the method never answers ends with DEADLINE_EXCEEDED at the deadline', async () => {
    const msg = Buffer.from([0, 0, 0, 0, 1, 42]);
    const r = await request(
      { ':path': '/t.T/Never', 'content-type': 'application/grpc', 'grpc-timeout': '200m' },
      msg,
    );
    assert.equal(r.h['grpc-status'], '4');
    assert.ok(r.ms >= 190 && r.ms < 2000, `ended after ${r.ms} ms`);
  });

  it('a GET is 405 and a non-gRPC content type 415', async () => {
    const get = await request({ ':method': 'GET', ':path': '/t.T/Never' }, Buffer.alloc(0));
    assert.equal(get.h[':status'], 405);
    const json = await request(
      { ':path': '/t.T/Never', 'content-type': 'application/json' },
      Buffer.from('{}'),
    );
    assert.equal(json.h[':status'], 415);
  });
});
