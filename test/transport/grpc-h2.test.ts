/**
 * Hermod's own gRPC client (transport/grpc-h2.ts) against a real @grpc/grpc-js server: answers, statuses
 * with their messages, deadlines, large messages, many calls at once on one session, client streaming,
 * reconnecting after the server went away, and HTTP-level failures from a plain node:http2 server.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type handleClientStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { GrpcStatus, H2GrpcClient, type H2Method } from '../../src/transport/grpc-h2.js';

const raw = (b: Buffer) => b;
const method = (path: string): H2Method<Buffer, Buffer> => ({ path, serialize: raw, deserialize: raw });

function def(path: string, requestStream: boolean): ServiceDefinition[string] {
  return {
    path,
    requestStream,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

const SERVICE: ServiceDefinition = {
  Echo: def('/test.T/Echo', false),
  Fail: def('/test.T/Fail', false),
  Never: def('/test.T/Never', false),
  Count: def('/test.T/Count', true),
};

async function startServer(port = 0): Promise<{ server: Server; port: number }> {
  const server = new Server();
  const echo: handleUnaryCall<Buffer, Buffer> = (call, cb) => cb(null, call.request);
  const fail: handleUnaryCall<Buffer, Buffer> = (call, cb) =>
    cb({ code: Number(call.request.toString()) || status.PERMISSION_DENIED, details: 'nö: 100% wrong' });
  const never: handleUnaryCall<Buffer, Buffer> = () => {};
  const count: handleClientStreamingCall<Buffer, Buffer> = (call, cb) => {
    const seen: string[] = [];
    call.on('data', (b: Buffer) => seen.push(b.toString()));
    call.on('end', () => cb(null, Buffer.from(seen.join(','))));
  };
  server.addService(SERVICE, { Echo: echo, Fail: fail, Never: never, Count: count });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port: bound };
}

const soon = (ms = 5000) => Date.now() + ms;

describe('grpc-h2 client against a grpc-js server', () => {
  let srv: { server: Server; port: number };
  let client: H2GrpcClient;
  before(async () => {
    srv = await startServer();
    client = new H2GrpcClient({ origin: `http://127.0.0.1:${srv.port}`, authority: `127.0.0.1:${srv.port}` });
  });
  after(() => {
    client.close();
    srv.server.forceShutdown();
  });

  it('gets the answer of a unary call', async () => {
    const r = await client.unary(method('/test.T/Echo'), Buffer.from('hello'), soon());
    assert.deepEqual(r, { ok: true, response: Buffer.from('hello') });
  });

  it('carries an empty message and a 3 MB one', async () => {
    const empty = await client.unary(method('/test.T/Echo'), Buffer.alloc(0), soon());
    assert.deepEqual(empty, { ok: true, response: Buffer.alloc(0) });
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const r = await client.unary(method('/test.T/Echo'), big, soon(20_000));
    assert.ok(r.ok && Buffer.compare(r.response, big) === 0);
  });

  it('reports the status code and the (percent-decoded) message of a failed call', async () => {
    const r = await client.unary(method('/test.T/Fail'), Buffer.from(String(status.NOT_FOUND)), soon());
    assert.deepEqual(r, { ok: false, code: status.NOT_FOUND, message: 'nö: 100% wrong' });
  });

  it('reports UNIMPLEMENTED for a method the server does not have', async () => {
    const r = await client.unary(method('/test.T/Nope'), Buffer.from('x'), soon());
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, GrpcStatus.UNIMPLEMENTED);
  });

  it('gives up at the deadline, and other calls on the session go on', async () => {
    const slow = client.unary(method('/test.T/Never'), Buffer.from('x'), soon(300));
    const fast = await client.unary(method('/test.T/Echo'), Buffer.from('y'), soon());
    assert.equal(fast.ok, true);
    const r = await slow;
    assert.equal(!r.ok && r.code, GrpcStatus.DEADLINE_EXCEEDED);
    const past = await client.unary(method('/test.T/Echo'), Buffer.from('z'), Date.now() - 1);
    assert.equal(!past.ok && past.code, GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('runs a thousand calls at once on one session, each answered with its own message', async () => {
    const rs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        client.unary(method('/test.T/Echo'), Buffer.from(`m${i}`), soon(20_000)),
      ),
    );
    for (const [i, r] of rs.entries()) assert.deepEqual(r, { ok: true, response: Buffer.from(`m${i}`) });
  });

  it('reports an encoder error without making the call', async () => {
    const bad: H2Method<Buffer, Buffer> = {
      path: '/test.T/Echo',
      serialize: () => {
        throw new Error('field x is not a string');
      },
      deserialize: raw,
    };
    const r = await client.unary(bad, Buffer.alloc(0), soon());
    assert.equal(!r.ok && r.code, GrpcStatus.INTERNAL);
    assert.match(!r.ok ? r.message : '', /field x is not a string/);
  });

  it('streams messages in order on a client-streaming call', async () => {
    const answer = new Promise<[number, string | undefined]>((resolve) => {
      const call = client.clientStream(method('/test.T/Count'), (code, _message, response) =>
        resolve([code, response?.toString()]),
      );
      assert.ok(!('ok' in call));
      for (const m of ['a', 'b', 'c']) call.write(Buffer.from(m), (err) => assert.equal(err, undefined));
      call.end();
    });
    assert.deepEqual(await answer, [GrpcStatus.OK, 'a,b,c']);
  });
});

describe('grpc-h2 client when the server goes away', () => {
  it('fails calls with UNAVAILABLE while the server is down and reconnects when it is back', async () => {
    const first = await startServer();
    const port = first.port;
    const client = new H2GrpcClient({ origin: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}` });
    try {
      assert.equal((await client.unary(method('/test.T/Echo'), Buffer.from('1'), soon())).ok, true);
      first.server.forceShutdown();
      let down = await client.unary(method('/test.T/Echo'), Buffer.from('2'), soon());
      // The call may race the shutdown on the old session; the next one cannot.
      if (down.ok) down = await client.unary(method('/test.T/Echo'), Buffer.from('2'), soon());
      assert.equal(!down.ok && down.code, GrpcStatus.UNAVAILABLE);
      assert.equal(await client.probe(soon(500)), false);
      const second = await startServer(port);
      try {
        assert.equal(await client.probe(soon()), true);
        let r = await client.unary(method('/test.T/Echo'), Buffer.from('3'), soon());
        for (let i = 0; i < 100 && !r.ok; i++) {
          await new Promise((res) => setTimeout(res, 100));
          r = await client.unary(method('/test.T/Echo'), Buffer.from('3'), soon());
        }
        assert.deepEqual(r, { ok: true, response: Buffer.from('3') });
      } finally {
        second.server.forceShutdown();
      }
    } finally {
      client.close();
    }
  });

  it('maps HTTP statuses and stream resets of a server that is not gRPC to gRPC codes', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      // The reset stream reports its own reset: expected here.
      stream.on('error', () => {});
      if (headers[':path'] === '/reset') stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else if (headers[':path'] === '/unavailable') stream.respond({ ':status': 503 }, { endStream: true });
      else stream.respond({ ':status': 404 }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new H2GrpcClient({ origin: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}` });
    try {
      const codeOf = async (path: string) => {
        const r = await client.unary(method(path), Buffer.from('x'), soon());
        return r.ok ? 'ok' : r.code;
      };
      assert.equal(await codeOf('/missing'), GrpcStatus.UNIMPLEMENTED);
      assert.equal(await codeOf('/unavailable'), GrpcStatus.UNAVAILABLE);
      assert.equal(await codeOf('/reset'), GrpcStatus.UNAVAILABLE);
    } finally {
      client.close();
      server.close();
    }
  });

  it('a response header list over 64 KiB fails that call with RESOURCE_EXHAUSTED; the next call works', async () => {
    const server = http2.createServer({ maxSendHeaderBlockLength: 256 * 1024 });
    server.on('stream', (stream, headers) => {
      const big = headers[':path'] === '/big' ? { 'x-big': 'v'.repeat(70 * 1024) } : {};
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', ...big },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.on('error', () => {});
      stream.end(Buffer.from([0, 0, 0, 0, 1, 42]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new H2GrpcClient({ origin: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}` });
    try {
      const big = await client.unary(method('/big'), Buffer.from('x'), soon());
      assert.equal(big.ok ? 'ok' : big.code, GrpcStatus.RESOURCE_EXHAUSTED);
      const small = await client.unary(method('/small'), Buffer.from('x'), soon());
      assert.deepEqual(small.ok ? small.response : small, Buffer.from([42]));
    } finally {
      client.close();
      server.close();
    }
  });
});
