/**
 * Configuration of a dtls listener: psk_authentication files, dtls_options checks with errors naming the
 * key at fault, and a handshake flight lost on the way (retransmitted by the timer and on the peer's repeat).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Association } from '../../../src/transport/dtls/association.js';
import { dtlsServerSetup } from '../../../src/transport/dtls/options.js';
import { PskStore, pskFromConfig } from '../../../src/transport/dtls/psk.js';
import { DtlsServer, type DtlsSession } from '../../../src/transport/dtls/server.js';
import { type DtlsFixtures, makeDtlsFixtures } from './fixtures.js';
import { memoryClient, testPsk } from './helpers.js';

describe('dtls: configuration', () => {
  let fx: DtlsFixtures;
  before(() => {
    fx = makeDtlsFixtures();
  });
  after(() => fx.remove());

  it('psk_authentication: init_file lines with a custom separator; a bad line names its number', async () => {
    const file = join(fx.dir, 'keys.txt');
    writeFileSync(file, 'a;one\n\nb;two;with;separators\n');
    const lookup = await pskFromConfig({ enable: true, init_file: file, separator: ';' });
    assert.equal(lookup?.('a')?.toString(), 'one');
    assert.equal(lookup?.('b')?.toString(), 'two;with;separators');
    assert.equal(lookup?.('c'), undefined);
    assert.equal(await pskFromConfig({ enable: false, init_file: file, separator: ';' }), undefined);
    assert.throws(
      () => new PskStore().load('ok:1\nbroken\n'),
      /PSK file line 2: expected <identity>:<secret>/,
    );
    await assert.rejects(
      pskFromConfig({ enable: true, init_file: join(fx.dir, 'missing'), separator: ':' }),
      /psk_authentication.init_file .*missing/,
    );
  });

  it('dtls_options: suites, versions, certificates and verify_peer are checked at start', async () => {
    const psk = testPsk().lookup;
    const setup = await dtlsServerSetup({ ciphers: ['PSK-AES128-CCM8', 'NOT-A-SUITE'] }, psk);
    assert.deepEqual(
      setup.suites?.map((s) => s.name),
      ['TLS_PSK_WITH_AES_128_CCM_8'],
    );
    await assert.rejects(dtlsServerSetup({ versions: ['dtlsv1'] }, psk), /only dtlsv1.2/);
    await assert.rejects(dtlsServerSetup({ ciphers: ['RC4-MD5'] }, psk), /none of RC4-MD5 is supported/);
    await assert.rejects(
      dtlsServerSetup(
        { ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'], certfile: fx.serverCert, keyfile: fx.serverKey },
        psk,
      ),
      /no usable cipher suite/,
    );
    await assert.rejects(
      dtlsServerSetup({ certfile: fx.serverCert, keyfile: fx.rsaKey }, undefined),
      /keyfile does not match certfile/,
    );
    await assert.rejects(dtlsServerSetup({ verify: 'verify_peer' }, psk), /verify_peer needs a cacertfile/);
    const full = await dtlsServerSetup(
      {
        certfile: fx.serverCert,
        keyfile: fx.serverKey,
        cacertfile: fx.ca,
        verify: 'verify_peer',
        fail_if_no_peer_cert: true,
      },
      undefined,
    );
    assert.equal(full.credentials?.kind, 'ecdsa');
    assert.equal(full.trusted?.length, 1);
    assert.equal(full.failIfNoPeerCert, true);
  });

  it('a lost server flight is sent again: on the timer and when the client repeats its ClientHello', async () => {
    let serverSent = 0;
    let client: Association | undefined;
    // Retransmission timers are unref'd (a socket keeps a real process alive); nothing else does here.
    const keepAlive = setTimeout(() => {}, 10_000);
    const session = await new Promise<DtlsSession>((resolve) => {
      const server = new DtlsServer(
        {
          psk: testPsk().lookup,
          transmit: (d) => {
            // The HelloVerifyRequest goes through; the ServerHello flight is lost once.
            if (serverSent++ === 1) return;
            setImmediate(() => client!.receive(d));
          },
        },
        { onSession: resolve },
      );
      const mem = memoryClient((d) => setImmediate(() => server.receive(d, '10.0.0.9', 7000)));
      client = mem.client;
      mem.start();
    });
    // The server's last flight reaches the client on a later turn of the loop.
    for (let i = 0; i < 100 && !client!.established; i++) await new Promise((r) => setTimeout(r, 10));
    clearTimeout(keepAlive);
    assert.equal(session.identity.pskIdentity, 'device1');
    assert.ok(serverSent >= 4, `server sent ${serverSent} datagrams (HVR, lost flight, flight again, final)`);
    assert.equal(client!.established, true);
    client!.close();
  });

  it('a handshake that stops after the cookie exchange is dropped at handshake_timeout', async () => {
    const failures: string[] = [];
    let serverSent = 0;
    let client: Association | undefined;
    const server = new DtlsServer(
      {
        psk: testPsk().lookup,
        handshakeTimeoutMs: 200,
        // Only the HelloVerifyRequest arrives: the client never sees the server's flight and never finishes.
        transmit: (d) => {
          if (serverSent++ === 0) setImmediate(() => client!.receive(d));
        },
      },
      { onSession: () => {}, onFailure: (_p, reason) => failures.push(reason) },
    );
    const mem = memoryClient((d) => setImmediate(() => server.receive(d, '10.0.0.8', 7001)));
    client = mem.client;
    mem.start();
    const keepAlive = setTimeout(() => {}, 10_000);
    for (let i = 0; i < 200 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    clearTimeout(keepAlive);
    assert.deepEqual(failures, ['timeout']);
    assert.equal(server.size, 0);
    client.drop();
  });
});
