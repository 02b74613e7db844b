import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, run, subscribe } from '../helpers/clients.js';
import { fixture, readFixture } from '../helpers/fixtures.js';

const tls = {
  certfile: fixture('certs', 'server.pem'),
  keyfile: fixture('certs', 'server.key'),
  cacertfile: fixture('certs', 'ca.pem'),
};

describe('MQTT over TLS, WebSocket and secure WebSocket', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      ws: true,
      config: {
        mqtt: { peer_cert_as_username: 'cn' },
        listeners: {
          ssl: {
            default: { bind: '127.0.0.1:0', ssl_options: tls },
            mutual: {
              bind: '127.0.0.1:0',
              ssl_options: { ...tls, verify: 'verify_peer', fail_if_no_peer_cert: true },
            },
          },
          wss: { default: { bind: '127.0.0.1:0', ssl_options: tls } },
        },
      },
    });
  });
  after(() => b.stop());

  const ca = () => readFixture('certs', 'ca.pem');

  it('serves mqtt.js over TLS, WS and WSS, all on one broker', async () => {
    const sub = await connectClient(b.node.port('ssl:default'), {
      protocol: 'mqtts',
      ca: ca(),
      servername: 'localhost',
    });
    const g = collect(sub);
    await subscribe(sub, 'tr/#', { qos: 1 });
    const ws = await connectClient(b.wsPort!, { protocol: 'ws', path: '/mqtt' });
    const wss = await connectClient(b.node.port('wss:default'), {
      protocol: 'wss',
      path: '/mqtt',
      ca: ca(),
      servername: 'localhost',
    });
    await publish(ws, 'tr/ws', 'over-ws', { qos: 1 });
    await publish(wss, 'tr/wss', 'over-wss', { qos: 1 });
    const msgs = await g.next(2);
    assert.deepEqual(msgs.map((m) => m.payload.toString()).sort(), ['over-ws', 'over-wss']);
    await Promise.all([end(sub), end(ws), end(wss)]);
  });

  it('requires and uses a client certificate with verify_peer + fail_if_no_peer_cert', async () => {
    const port = b.node.port('ssl:mutual');
    await assert.rejects(
      connectClient(port, { protocol: 'mqtts', ca: ca(), servername: 'localhost', connectTimeout: 2000 }),
    );
    const seen: string[] = [];
    const off = b.node.hooks.add('client.connected', (ci) => {
      seen.push(`${ci.username}|${ci.cn}|${ci.dn}`);
      return undefined;
    });
    try {
      const c = await connectClient(port, {
        protocol: 'mqtts',
        ca: ca(),
        servername: 'localhost',
        cert: readFixture('certs', 'client.pem'),
        key: readFixture('certs', 'client.key'),
      });
      await end(c);
      assert.equal(seen.length, 1);
      const [username, cn, dn] = seen[0]!.split('|');
      assert.equal(cn, 'dev1');
      assert.equal(username, 'dev1', 'peer_cert_as_username = cn');
      assert.match(dn!, /CN=dev1/);
    } finally {
      off();
    }
  });

  it('refuses a client certificate not signed by the CA', async () => {
    await assert.rejects(
      connectClient(b.node.port('ssl:mutual'), {
        protocol: 'mqtts',
        ca: ca(),
        servername: 'localhost',
        cert: readFixture('certs', 'bad-client.pem'),
        key: readFixture('certs', 'bad-client.key'),
        connectTimeout: 2000,
      }),
    );
  });

  it('talks to mosquitto_pub / mosquitto_sub over TLS with a client certificate', async () => {
    const port = String(b.node.port('ssl:mutual'));
    const certArgs = [
      '--cafile',
      fixture('certs', 'ca.pem'),
      '--cert',
      fixture('certs', 'client.pem'),
      '--key',
      fixture('certs', 'client.key'),
    ];
    await run('mosquitto_pub', [
      '-h',
      'localhost',
      '-p',
      port,
      ...certArgs,
      '-t',
      'tls/ret',
      '-m',
      'secure',
      '-r',
      '-q',
      '1',
    ]);
    const r = await run('mosquitto_sub', [
      '-h',
      'localhost',
      '-p',
      port,
      ...certArgs,
      '-t',
      'tls/ret',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    assert.equal(r.stdout.trim(), 'secure', r.stderr);
  });
});
