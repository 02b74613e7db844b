/**
 * https:// servers: TLS with a client certificate (the test server requires one signed by ca.pem), server
 * verification and SNI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { fixture } from '../helpers/fixtures.js';
import { TestProvider } from './provider.js';

describe('exhook over TLS with client certificates', () => {
  let p: TestProvider;
  const brokers: TestBroker[] = [];
  before(async () => {
    p = await TestProvider.start({ tls: true, hooks: [{ name: 'client.connected' }] });
  });
  after(async () => {
    for (const b of brokers) await b.stop();
    await p.stop();
  });

  const clientCert = { certfile: fixture('certs', 'client.pem'), keyfile: fixture('certs', 'client.key') };

  async function status(ssl: Record<string, unknown>): Promise<string> {
    const b = await startBroker({
      config: {
        exhook: { servers: [{ name: 'tls', url: p.url, ssl, auto_reconnect: '60s', request_timeout: '3s' }] },
      },
    });
    brokers.push(b);
    return b.node.exhook.server('tls')!.status;
  }

  it('loads and calls a server that requires a client certificate', async () => {
    const b = await startBroker({
      config: {
        exhook: {
          servers: [
            {
              name: 'tls',
              url: p.url,
              ssl: {
                enable: true,
                verify: 'verify_peer',
                cacertfile: fixture('certs', 'ca.pem'),
                ...clientCert,
              },
            },
          ],
        },
      },
    });
    brokers.push(b);
    assert.equal(b.node.exhook.server('tls')!.status, 'connected');
    const c = await connectClient(b.port, { clientId: 'over-tls' });
    const req = await p.waitFor('OnClientConnected');
    assert.equal((req.clientinfo as { clientid: string }).clientid, 'over-tls');
    await end(c);
  });

  it('is refused by the server without a client certificate', async () => {
    assert.equal(
      await status({ enable: true, verify: 'verify_peer', cacertfile: fixture('certs', 'ca.pem') }),
      'connecting',
    );
  });

  it('refuses a server certificate its CA did not sign under verify_peer, not under verify_none', async () => {
    const wrongCa = fixture('certs', 'bad-client.pem');
    assert.equal(
      await status({ enable: true, verify: 'verify_peer', cacertfile: wrongCa, ...clientCert }),
      'connecting',
    );
    assert.equal(
      await status({ enable: true, verify: 'verify_none', cacertfile: wrongCa, ...clientCert }),
      'connected',
    );
  });

  it('checks the certificate against server_name_indication', async () => {
    const ca = fixture('certs', 'ca.pem');
    const base = { enable: true, verify: 'verify_peer', cacertfile: ca, ...clientCert };
    assert.equal(await status({ ...base, server_name_indication: 'localhost' }), 'connected');
    assert.equal(await status({ ...base, server_name_indication: 'other.example' }), 'connecting');
  });

  it('fails the load with a clear error when a certificate file is missing', async () => {
    const b = await startBroker({
      config: {
        exhook: {
          servers: [{ name: 'tls', url: p.url, ssl: { enable: true, certfile: '/nonexistent.pem' } }],
        },
      },
    });
    brokers.push(b);
    const s = b.node.exhook.server('tls')!;
    assert.equal(s.status, 'disconnected');
    assert.match(s.lastError ?? '', /ssl\.certfile \/nonexistent\.pem/);
  });
});
