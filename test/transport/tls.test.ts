import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import type { TlsOptions } from '../../src/transport/listener.js';
import {
  closedSocket,
  collect,
  fixture,
  type Harness,
  listenerOptions,
  Recorder,
  readFixture,
  startHarness,
} from './helpers.js';

function serverTls(overrides: Partial<TlsOptions> = {}): TlsOptions {
  return {
    certfile: fixture('certs', 'server.pem'),
    keyfile: fixture('certs', 'server.key'),
    cacertfile: fixture('certs', 'ca.pem'),
    verify: 'verify_peer',
    failIfNoPeerCert: true,
    versions: ['tlsv1.3', 'tlsv1.2'],
    ...overrides,
  };
}

type ClientCert = 'good' | 'bad' | 'none';

function connectTls(port: number, cert: ClientCert, extra: tls.ConnectionOptions = {}): tls.TLSSocket {
  const opts: tls.ConnectionOptions = {
    host: '127.0.0.1',
    port,
    ca: readFixture('certs', 'ca.pem'),
    ...extra,
  };
  if (cert === 'good') {
    opts.key = readFixture('certs', 'client.key');
    opts.cert = readFixture('certs', 'client.pem');
  } else if (cert === 'bad') {
    opts.key = readFixture('certs', 'bad-client.key');
    opts.cert = readFixture('certs', 'bad-client.pem');
  }
  const sock = tls.connect(opts);
  sock.on('error', () => {});
  return sock;
}

describe('tls listener', () => {
  const harnesses: Harness[] = [];
  const start = async (tlsOpts: TlsOptions): Promise<Harness> => {
    const h = await startHarness(listenerOptions('ssl', { tls: tlsOpts }));
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  it('accepts a good client certificate and exposes cn, dn and pem', async () => {
    const h = await start(serverTls());
    const client = connectTls(h.port, 'good');
    const got = collect(client);
    const conn = await h.connection();
    assert.equal(conn.transport, 'ssl');
    assert.equal(conn.kind, 'stream');
    assert.equal(conn.peerhost, '127.0.0.1');
    assert.equal(conn.peerCert?.cn, 'dev1');
    assert.equal(conn.peerCert?.dn, 'CN=dev1,O=Acme');
    assert.match(conn.peerCert?.pem ?? '', /^-----BEGIN CERTIFICATE-----/);
    conn.setHandler(new Recorder(conn));
    client.write('secret');
    assert.equal((await got.bytes(6)).toString(), 'secret');
    client.end();
    await closedSocket(client);
  });

  it('refuses a client without a certificate under fail_if_no_peer_cert', async () => {
    const h = await start(serverTls());
    const client = connectTls(h.port, 'none');
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    assert.equal(h.refusals[0].peerhost, '127.0.0.1');
    await closedSocket(client);
    assert.equal(h.connections.length, 0);
  });

  it('refuses a certificate the CA did not sign', async () => {
    const h = await start(serverTls());
    const client = connectTls(h.port, 'bad');
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    assert.match(h.refusals[0].detail ?? '', /certificate/i);
    await closedSocket(client);
    assert.equal(h.connections.length, 0);
  });

  it('without fail_if_no_peer_cert: no certificate is fine, a bad one still is not', async () => {
    const h = await start(serverTls({ failIfNoPeerCert: false }));
    const anon = connectTls(h.port, 'none');
    const conn = await h.connection();
    assert.equal(conn.peerCert, undefined);
    const bad = connectTls(h.port, 'bad');
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    await closedSocket(bad);
    assert.equal(h.connections.length, 1);
    anon.destroy();
  });

  it('verify_none ignores client certificates', async () => {
    const h = await start(serverTls({ verify: 'verify_none' }));
    const client = connectTls(h.port, 'good');
    const conn = await h.connection();
    assert.equal(conn.peerCert, undefined);
    client.destroy();
  });

  it('loads an encrypted key with its password', async () => {
    const h = await start(
      serverTls({
        keyfile: fixture('certs', 'server-encrypted.key'),
        password: 'hermod',
        verify: 'verify_none',
      }),
    );
    const client = connectTls(h.port, 'none');
    await h.connection();
    client.destroy();
  });

  it('honours the version range', async () => {
    const h = await start(serverTls({ versions: ['tlsv1.2'], verify: 'verify_none' }));
    const ok = connectTls(h.port, 'none');
    await new Promise((r) => ok.once('secureConnect', r));
    assert.equal(ok.getProtocol(), 'TLSv1.2');
    await h.connection();
    const tooNew = connectTls(h.port, 'none', { minVersion: 'TLSv1.3' });
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    await closedSocket(tooNew);
    ok.destroy();
  });

  it('holds TLS clients over max_conn_rate and admits them all', async () => {
    const h = await startHarness(listenerOptions('ssl', { tls: serverTls(), maxConnRate: 2 }));
    harnesses.push(h);
    const clients = Array.from({ length: 4 }, () => connectTls(h.port, 'good'));
    await h.connection(3);
    assert.equal(h.refusals.length, 0);
    for (const c of clients) c.destroy();
  });

  it('refuses a client that never completes the handshake', async () => {
    const h = await start(serverTls({ handshakeTimeoutMs: 200 }));
    const client = net.connect(h.port, '127.0.0.1');
    client.on('error', () => {});
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    await closedSocket(client);
  });

  it('reports a client hanging up mid-handshake', async () => {
    const h = await start(serverTls());
    const client = net.connect(h.port, '127.0.0.1', () => client.end(Buffer.from([0x16, 0x03, 0x01])));
    client.on('error', () => {});
    await h.refused();
    assert.equal(h.refusals[0].reason, 'tls_handshake');
    assert.equal(h.refusals[0].peerhost, '127.0.0.1');
  });
});
