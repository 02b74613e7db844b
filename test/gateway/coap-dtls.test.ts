/**
 * The CoAP gateway on a dtls listener with Debian's libcoap clients (OpenSSL and GnuTLS builds): PSK with
 * the identity as the client's username for authentication and authorization, certificates with the
 * client's CN/DN in ClientInfo, and refused credentials that publish nothing.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HookPriority } from '../../src/broker/hooks.js';
import type { ClientInfo, Credential } from '../../src/broker/types.js';
import { collect, connectClient, run } from '../helpers/clients.js';
import { type DtlsFixtures, makeDtlsFixtures } from '../transport/dtls/fixtures.js';
import { startCoapBroker } from './coap-helpers.js';
import { gatewayPort } from './helpers.js';

describe('coap over dtls: libcoap clients', () => {
  let fx: DtlsFixtures;
  let b: Awaited<ReturnType<typeof startCoapBroker>>;
  let base: string;
  const logins: Credential[] = [];
  const offs: Array<() => void> = [];
  before(async () => {
    fx = makeDtlsFixtures();
    b = await startCoapBroker({
      config: { psk_authentication: { enable: true, init_file: fx.pskFile } },
      coap: {
        listeners: {
          dtls: {
            default: {
              bind: '127.0.0.1:0',
              dtls_options: {
                certfile: fx.serverCert,
                keyfile: fx.serverKey,
                cacertfile: fx.ca,
                verify: 'verify_peer',
                fail_if_no_peer_cert: false,
              },
            },
          },
        },
      },
    });
    base = `coaps://127.0.0.1:${gatewayPort(b.node, 'coap:dtls:default')}`;
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        (cred) => {
          if (cred.protocol === 'coap') logins.push(cred);
          return undefined;
        },
        HookPriority.HIGHEST,
      ),
      // Only device1 may publish to t: proves the PSK identity is the username authorization sees.
      b.node.hooks.add('client.authorize', (ci: ClientInfo, _a, topic) =>
        ci.protocol === 'coap' && topic === 't' && ci.username !== 'device1'
          ? { stop: { result: 'deny', from: 'test' } }
          : undefined,
      ),
    );
  });
  afterEach(() => {
    logins.length = 0;
  });
  after(async () => {
    for (const off of offs) off();
    await b.stop();
    fx.remove();
  });

  /**
   * Runs a libcoap client posting `payload` to /ps/<topic> with `creds` while an MQTT client subscribes to the
   * topic; returns what the CoAP client printed and what the subscriber received within a short wait.
   */
  async function post(client: string, creds: string[], topic: string, payload: string) {
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync(topic);
    const r = await run(client, [...creds, '-m', 'post', `${base}/ps/${topic}`, '-e', payload, '-B', '3']);
    const received = await box.next(1, 1000).then(
      (msgs) => msgs.map((x) => x.payload.toString()),
      () => [],
    );
    await m.endAsync();
    return { ...r, received };
  }

  for (const client of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${client} -k secret -u device1 publishes to an MQTT subscriber, device1 being the username`, async () => {
      const r = await post(client, ['-k', 'secret', '-u', 'device1'], 't', 'hi');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.received, ['hi']);
      assert.equal(logins.at(-1)?.username, 'device1');
    });
  }

  it('another identity is a different username: authorization denies its publish (4.01)', async () => {
    const r = await post('coap-client-openssl', ['-k', 'other', '-u', 'device2'], 't', 'no');
    assert.match(r.stdout + r.stderr, /4\.01/);
    assert.equal(logins.at(-1)?.username, 'device2');
    assert.deepEqual(r.received, []);
  });

  it('a wrong key publishes nothing', async () => {
    const r = await post('coap-client-openssl', ['-k', 'wrong', '-u', 'device1'], 't', 'x');
    assert.equal(logins.length, 0);
    assert.deepEqual(r.received, []);
  });

  it('a client certificate (-c/-j) reaches ClientInfo as cn and dn', async () => {
    const r = await post(
      'coap-client-openssl',
      ['-c', fx.clientCert, '-j', fx.clientKey, '-C', fx.ca],
      'cert/t',
      'signed',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.received, ['signed']);
    assert.equal(logins.at(-1)?.cn, 'dev7');
    assert.equal(logins.at(-1)?.dn, 'CN=dev7,O=Acme');
  });

  it('an expired or untrusted client certificate is refused: nothing is published', async () => {
    for (const [cert, key] of [
      [fx.expiredCert, fx.expiredKey],
      [fx.strangerCert, fx.strangerKey],
    ] as const) {
      const r = await post('coap-client-openssl', ['-c', cert, '-j', key], 't', 'x');
      assert.deepEqual(r.received, []);
    }
    assert.equal(logins.length, 0);
  });
});
