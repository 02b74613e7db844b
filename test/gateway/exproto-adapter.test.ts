/**
 * The ConnectionAdapter server (Hermod's own gRPC server by default, grpc-js's with EXPROTO_GRPC_SERVER)
 * called by two real gRPC clients a handler may be written with: @grpc/grpc-js and Python's grpcio. Each
 * makes calls that succeed, calls a method the service lacks, sends a message above the size limit and many
 * calls at once whose requests together pass every initial flow-control window; raw garbage on the port
 * ends only that connection; over TLS a client certificate is required.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { adapterService } from '../../src/gateway/exproto/proto.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, startProcess } from '../helpers/clients.js';
import { fixture, readFixture } from '../helpers/fixtures.js';
import { adminClient } from '../mgmt/http.js';
import { generateStubs, HAS_GRPC, PYTHON, pyScript } from './exproto-py-stubs.js';
import { ADAPTER_SERVER, sleep } from './helpers.js';

type Obj = Record<string, unknown>;

async function startGateway(server: Obj = {}): Promise<{ b: TestBroker; port: number }> {
  const b = await startBroker({
    api: true,
    config: {
      gateway: {
        exproto: {
          server: { bind: '127.0.0.1:0', grpc_server: ADAPTER_SERVER, ...server },
          // No handler runs: these tests are about the adapter side only.
          handler: { address: 'http://127.0.0.1:1' },
          listeners: { tcp: { default: { bind: '127.0.0.1:0' } } },
        },
      },
    },
  });
  const port = (await (await adminClient(b)).get('/gateways/exproto/handler')).body.adapter.port as number;
  return { b, port };
}

/** A unary call through grpc-js: the decoded response, or the error. */
function call(c: Client, rpc: string, req: Obj, path?: string): Promise<{ res?: Obj; err?: ServiceError }> {
  const m = adapterService()[rpc]!;
  return new Promise((resolve) =>
    c.makeUnaryRequest(
      path ?? m.path,
      m.requestSerialize,
      m.responseDeserialize as (b: Buffer) => Obj,
      req,
      new Metadata(),
      { deadline: Date.now() + 20_000 },
      (err, res) => resolve(err ? { err } : { res }),
    ),
  );
}

/** The types of the HTTP/2 frames in what a server sent. */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]!);
  return types;
}

const raw = (topic: string, size = 1) => ({ topic, qos: 0, payload: Buffer.alloc(size, 'x') });

describe(`exproto adapter (${ADAPTER_SERVER}): a grpc-js client`, () => {
  let b: TestBroker;
  let port: number;
  let c: Client;
  before(async () => {
    ({ b, port } = await startGateway());
    c = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  after(async () => {
    c.close();
    await b.stop();
  });

  it('unary calls answer: RawPublish reaches MQTT, an unknown conn is CONN_PROCESS_NOT_ALIVE', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('adapter/t');
    const r = await call(c, 'RawPublish', { topic: 'adapter/t', qos: 1, payload: Buffer.from('hi') });
    assert.equal(r.err, undefined);
    assert.equal(r.res!.code, 'SUCCESS');
    const [msg] = await got.next(1);
    assert.equal(msg!.payload.toString(), 'hi');
    const unknown = Buffer.from('999999@hermod@127.0.0.1').toString('base64');
    const s = await call(c, 'Send', { conn: unknown, bytes: Buffer.from('x') });
    assert.equal(s.res!.code, 'CONN_PROCESS_NOT_ALIVE');
    await m.endAsync();
  });

  it('an unknown method is UNIMPLEMENTED', async () => {
    const r = await call(c, 'RawPublish', raw('t'), '/emqx.exproto.v1.ConnectionAdapter/Nope');
    assert.equal(r.err?.code, status.UNIMPLEMENTED);
  });

  it('a message above 16 MiB is RESOURCE_EXHAUSTED; the connection serves the next call', async () => {
    const r = await call(c, 'RawPublish', raw('big', 17 * 1024 * 1024));
    assert.equal(r.err?.code, status.RESOURCE_EXHAUSTED, r.err?.message);
    assert.equal((await call(c, 'RawPublish', raw('t'))).res?.code, 'SUCCESS');
  });

  it('undecodable protobuf is refused with a status, not an answer', async () => {
    const r = await new Promise<ServiceError | null>((resolve) =>
      c.makeUnaryRequest(
        adapterService().Send!.path,
        () => Buffer.from([0x0a, 0xff, 0xff, 0xff]),
        (x: Buffer) => x,
        {},
        (e) => resolve(e),
      ),
    );
    const expected = ADAPTER_SERVER === 'http2' ? status.INVALID_ARGUMENT : status.INTERNAL;
    assert.equal(r?.code, expected);
  });

  it('1200 calls at once, 40 of them 1 MiB: all answered (concurrency limit and windows both ways)', async () => {
    const calls = [
      ...Array.from({ length: 1160 }, () => call(c, 'RawPublish', raw('many', 4096))),
      ...Array.from({ length: 40 }, () => call(c, 'RawPublish', raw('many', 1024 * 1024))),
    ];
    const results = await Promise.all(calls);
    assert.deepEqual(new Set(results.map((r) => r.res?.code ?? r.err?.message)), new Set(['SUCCESS']));
  });

  it('garbage bytes end that connection only (GOAWAY or close); calls keep working', async () => {
    for (const junk of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      // The preface, then HEADERS where SETTINGS must come first.
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        Buffer.from([0, 0, 0, 1, 4, 0, 0, 0, 1]),
      ]),
      Buffer.from([0xff, 0x00, 0x13, 0x37]),
    ]) {
      const s = net.connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      s.on('error', () => {});
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.write(junk);
      const what = JSON.stringify(junk.toString('latin1'));
      const closed = await Promise.race([new Promise((r) => s.once('close', () => r(true))), sleep(3000)]);
      assert.equal(closed, true, `connection closed after ${what}`);
      if (ADAPTER_SERVER === 'http2')
        assert.ok(frameTypes(Buffer.concat(got)).includes(7), `GOAWAY after ${what}`);
    }
    assert.equal((await call(c, 'RawPublish', raw('t'))).res?.code, 'SUCCESS');
  });
});

describe(`exproto adapter (${ADAPTER_SERVER}): TLS with client verification`, () => {
  let b: TestBroker;
  let port: number;
  const ssl = {
    enable: true,
    cacertfile: fixture('certs', 'ca.pem'),
    certfile: fixture('certs', 'server.pem'),
    keyfile: fixture('certs', 'server.key'),
    verify: 'verify_peer',
  };
  before(async () => {
    ({ b, port } = await startGateway({ ssl_options: ssl }));
  });
  after(async () => {
    await b.stop();
  });

  it('a grpc-js client with a certificate is served; one without is refused', async () => {
    const ca = readFixture('certs', 'ca.pem');
    const opts = { 'grpc.ssl_target_name_override': 'localhost' };
    const good = new Client(
      `127.0.0.1:${port}`,
      credentials.createSsl(ca, readFixture('certs', 'client.key'), readFixture('certs', 'client.pem')),
      opts,
    );
    assert.equal((await call(good, 'RawPublish', raw('t'))).res?.code, 'SUCCESS');
    good.close();
    const bare = new Client(`127.0.0.1:${port}`, credentials.createSsl(ca), opts);
    const r = await call(bare, 'RawPublish', raw('t'));
    assert.equal(r.err?.code, status.UNAVAILABLE);
    bare.close();
  });

  it('Python grpcio with a certificate is served; without one it is refused', {
    skip: !HAS_GRPC,
  }, async () => {
    const stubs = generateStubs();
    try {
      const py = startProcess(PYTHON, [
        pyScript('adapter_client.py'),
        stubs,
        String(port),
        fixture('certs', 'ca.pem'),
        fixture('certs', 'client.pem'),
        fixture('certs', 'client.key'),
      ]);
      const lines = await py.waitLines(2, 20_000);
      assert.deepEqual(lines, ['tls-ok OK SUCCESS', 'tls-nocert UNAVAILABLE -']);
    } finally {
      rmSync(stubs, { recursive: true, force: true });
    }
  });
});

describe(`exproto adapter (${ADAPTER_SERVER}): a Python grpcio client`, { skip: !HAS_GRPC }, () => {
  let b: TestBroker;
  let port: number;
  let stubs: string;
  before(async () => {
    ({ b, port } = await startGateway());
    stubs = generateStubs();
  });
  after(async () => {
    await b.stop();
    rmSync(stubs, { recursive: true, force: true });
  });

  it('ok, unknown method, oversize message and 200 concurrent 64 KiB calls', async () => {
    const py = startProcess(PYTHON, [pyScript('adapter_client.py'), stubs, String(port)]);
    const lines = await py.waitLines(4, 30_000);
    assert.deepEqual(lines, [
      'ok OK SUCCESS',
      'unknown UNIMPLEMENTED -',
      'oversize RESOURCE_EXHAUSTED -',
      'concurrent OK SUCCESS',
    ]);
  });
});
