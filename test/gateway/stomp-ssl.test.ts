/** STOMP over TLS: an ssl listener, and the client certificate's cn/dn in ClientInfo. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { fixture, readFixture } from '../helpers/fixtures.js';
import { gatewayPort, startStompBroker } from './helpers.js';

/** Logs in over TLS and returns the CONNECTED frame text. */
function loginTls(port: number, cert: boolean): Promise<{ text: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFixture('certs', 'ca.pem'),
      servername: 'localhost',
      checkServerIdentity: () => undefined,
      ...(cert ? { cert: readFixture('certs', 'client.pem'), key: readFixture('certs', 'client.key') } : {}),
    });
    let text = '';
    s.on('secureConnect', () => s.write('CONNECT\naccept-version:1.2\nclient-id:tls-client\n\n\0'));
    s.on('data', (d) => {
      text += d.toString();
      if (text.includes('\0')) resolve({ text, socket: s });
    });
    s.on('error', reject);
  });
}

describe('stomp: ssl listener', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker({
      stomp: {
        listeners: {
          ssl: {
            default: {
              bind: '127.0.0.1:0',
              ssl_options: {
                certfile: fixture('certs', 'server.pem'),
                keyfile: fixture('certs', 'server.key'),
                cacertfile: fixture('certs', 'ca.pem'),
                verify: 'verify_peer',
              },
            },
          },
        },
      },
    });
  });
  after(() => b.stop());

  it('logs in over TLS; the peer certificate gives ClientInfo cn and dn', async () => {
    const { text, socket } = await loginTls(gatewayPort(b.node, 'stomp:ssl:default'), true);
    assert.match(text, /^CONNECTED\n/);
    const ci = b.node.gateways.get('stomp')!.clients.get('tls-client')!.channel!.clientInfo;
    assert.equal(ci.listener, 'stomp:ssl:default');
    assert.ok(typeof ci.cn === 'string' && ci.cn.length > 0);
    assert.match(String(ci.dn), /CN=/);
    socket.destroy();
  });
});
