/**
 * Interoperability with OpenSSL's DTLS 1.2 client (`openssl s_client -dtls1_2`): every suite, client
 * certificates, session resumption, handshake messages fragmented by either side, and refused credentials.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caCertificates, serverCredentials } from '../../../src/transport/dtls/certs.js';
import { type DtlsFixtures, makeDtlsFixtures } from './fixtures.js';
import { type EchoServer, opensslExchange, startEchoServer } from './helpers.js';

const PSK = ['-psk', '0102030405060708', '-psk_identity', 'id'];

describe('dtls: openssl s_client', () => {
  let fx: DtlsFixtures;
  let ec: EchoServer;
  let rsa: EchoServer;
  before(async () => {
    fx = makeDtlsFixtures();
    const read = (f: string): string => readFileSync(f, 'utf8');
    ec = await startEchoServer({
      credentials: serverCredentials(read(fx.serverCert), read(fx.serverKey)),
      trusted: caCertificates(read(fx.ca)),
      verifyPeer: true,
      // A small MTU makes the server fragment its certificate flight.
      mtu: 300,
    });
    rsa = await startEchoServer({ credentials: serverCredentials(read(fx.rsaCert), read(fx.rsaKey)) });
  });
  after(async () => {
    await ec.stop();
    await rsa.stop();
    fx.remove();
  });

  for (const cipher of ['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256']) {
    it(`${cipher} with -psk`, async () => {
      assert.equal(await opensslExchange(ec.port, [...PSK, '-cipher', cipher], 'hello'), 'echo:hello');
      assert.equal(ec.sessions.at(-1)!.identity.suite.openssl, cipher);
      assert.equal(ec.sessions.at(-1)!.identity.pskIdentity, 'id');
    });
  }

  for (const cipher of ['ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256']) {
    it(`${cipher} with a client certificate (server flight fragmented to a 300-byte MTU)`, async () => {
      const args = [
        '-cipher',
        cipher,
        '-cert',
        fx.clientCert,
        '-key',
        fx.clientKey,
        '-CAfile',
        fx.ca,
        '-verify_return_error',
      ];
      assert.equal(await opensslExchange(ec.port, args, 'hello'), 'echo:hello');
      const id = ec.sessions.at(-1)!.identity;
      assert.equal(id.suite.openssl, cipher);
      assert.match(id.certificate!.subject, /CN=dev7/);
    });
  }

  it('ECDHE-RSA-AES128-GCM-SHA256 with an RSA server key', async () => {
    const got = await opensslExchange(rsa.port, ['-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], 'hello');
    assert.equal(got, 'echo:hello');
    assert.equal(rsa.sessions.at(-1)!.identity.suite.openssl, 'ECDHE-RSA-AES128-GCM-SHA256');
  });

  it('reassembles a client flight openssl fragments to a 256-byte MTU', async () => {
    const args = [
      '-mtu',
      '256',
      '-cipher',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      '-cert',
      fx.clientCert,
      '-key',
      fx.clientKey,
    ];
    assert.equal(await opensslExchange(ec.port, args, 'frag'), 'echo:frag');
    assert.match(ec.sessions.at(-1)!.identity.certificate!.subject, /CN=dev7/);
  });

  it('resumes a session saved with -sess_out', async () => {
    const file = join(fx.dir, 'session.pem');
    await opensslExchange(ec.port, [...PSK, '-cipher', 'PSK-AES128-CCM8', '-sess_out', file], 'one');
    const before = ec.sessions.length;
    assert.equal(
      await opensslExchange(ec.port, [...PSK, '-cipher', 'PSK-AES128-CCM8', '-sess_in', file], 'two'),
      'echo:two',
    );
    assert.equal(ec.sessions.length, before + 1);
    assert.equal(ec.sessions.at(-1)!.identity.pskIdentity, 'id');
    assert.equal(ec.sessions.at(-1)!.identity.resumed, true);
  });

  for (const [what, cert, key, reason] of [
    ['an expired', 'expiredCert', 'expiredKey', /certificate expired/],
    ['an untrusted', 'strangerCert', 'strangerKey', /not issued by a trusted CA/],
  ] as const) {
    it(`refuses ${what} client certificate with the alert that says why`, async () => {
      const failure = ec.nextFailure();
      const args = ['-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256', '-cert', fx[cert], '-key', fx[key]];
      await assert.rejects(opensslExchange(ec.port, args, 'x'));
      assert.match(await failure, reason);
    });
  }

  it('a wrong PSK fails the handshake', async () => {
    const failure = ec.nextFailure();
    await assert.rejects(
      opensslExchange(ec.port, ['-psk', '0a0b', '-psk_identity', 'id', '-cipher', 'PSK-AES128-CCM8'], 'x'),
    );
    assert.match(await failure, /bad_record_mac/);
  });
});
