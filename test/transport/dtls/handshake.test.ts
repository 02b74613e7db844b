/**
 * The DTLS server against this project's own DTLS client: every PSK suite, resumption, and the failures a
 * device can cause (wrong key, unknown identity, an old protocol version), each ending with a precise alert.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CipherSuite, SUITES } from '../../../src/transport/dtls/suites.js';
import { connectClient, type EchoServer, startEchoServer } from './helpers.js';

const suite = (name: string): CipherSuite => SUITES.find((s) => s.openssl === name)!;

describe('dtls: handshake with the built-in client', () => {
  let srv: EchoServer;
  before(async () => {
    srv = await startEchoServer();
  });
  after(() => srv.stop());

  for (const name of ['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256']) {
    it(`${name}: handshakes and carries datagrams both ways`, async () => {
      const c = await connectClient(srv.port, { suites: [suite(name)] });
      assert.equal(await c.ask('ping'), 'echo:ping');
      const s = srv.sessions.at(-1)!;
      assert.equal(s.identity.suite.openssl, name);
      assert.equal(s.identity.pskIdentity, 'device1');
      c.close();
    });
  }

  it('resumes a cached session with an abbreviated handshake', async () => {
    const first = await connectClient(srv.port);
    const session = first.session!;
    first.close();
    const again = await connectClient(srv.port, { resume: session });
    assert.deepEqual(again.session!.id, session.id);
    assert.equal(await again.ask('back'), 'echo:back');
    assert.equal(srv.sessions.at(-1)!.identity.pskIdentity, 'device1');
    assert.equal(srv.sessions.at(-1)!.identity.resumed, true);
    again.close();
  });

  it('a wrong key ends the handshake with bad_record_mac', async () => {
    const failure = srv.nextFailure();
    await assert.rejects(
      connectClient(srv.port, { psk: { identity: 'device1', key: Buffer.from('wrong') } }),
      /alert received: bad_record_mac/,
    );
    assert.match(await failure, /wrong key/);
  });

  it('an unknown identity gets unknown_psk_identity', async () => {
    await assert.rejects(
      connectClient(srv.port, { psk: { identity: 'nobody', key: Buffer.from('x') } }),
      /alert received: unknown_psk_identity/,
    );
    assert.match(srv.failures.at(-1)!, /unknown PSK identity "nobody"/);
  });

  it('a ClientHello offering only DTLS 1.0 is refused with protocol_version (no downgrade)', async () => {
    await assert.rejects(connectClient(srv.port, { version: 0xfeff }), /alert received: protocol_version/);
  });

  it('no suite in common ends with handshake_failure', async () => {
    await assert.rejects(
      connectClient(srv.port, { suites: [suite('ECDHE-ECDSA-AES128-CCM8')] }),
      /handshake_failure/,
    );
  });
});
