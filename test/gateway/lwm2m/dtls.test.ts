/**
 * LwM2M over a dtls listener (default port 5784): the independent test device registers through a PSK
 * DTLS session, its identity reaching the gateway, and an MQTT application reads it through the JSON topics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClientInfo } from '../../../src/broker/types.js';
import { type DtlsFixtures, makeDtlsFixtures } from '../../transport/dtls/fixtures.js';
import { gatewayPort, until } from '../helpers.js';
import { codeText } from './device/coap.js';
import { Lwm2mDevice } from './device/device.js';
import { App, type Lwm2mBroker, startLwm2mBroker } from './helpers.js';

describe('lwm2m over dtls', () => {
  let fx: DtlsFixtures;
  let b: Lwm2mBroker;
  let app: App;
  let port: number;
  const logins: ClientInfo[] = [];
  let off: () => void;
  before(async () => {
    fx = makeDtlsFixtures();
    b = await startLwm2mBroker({
      lwm2m: { listeners: { dtls: { default: { bind: '127.0.0.1:0' } } } },
      config: { psk_authentication: { enable: true, init_file: fx.pskFile } },
    });
    port = gatewayPort(b.node, 'lwm2m:dtls:default');
    off = b.node.hooks.add('client.connected', (ci) => {
      if (ci.clientid === 'ep-dtls') logins.push(ci);
    });
    app = await App.open(b.port);
  });
  after(async () => {
    off();
    await app.close();
    await b.stop();
    fx.remove();
  });

  it('registers through the DTLS session and answers a read command from MQTT', async () => {
    const d = await Lwm2mDevice.overDtls(
      { ep: 'ep-dtls', port },
      { psk: { identity: 'device1', key: Buffer.from('secret') } },
    );
    try {
      const r = await d.register();
      assert.equal(codeText(r.code), '2.01');
      await until(() => logins.length > 0, 3000, 'client.connected');
      assert.equal(logins[0]?.clientid, 'ep-dtls');
      const reg = await app.next((u) => u.topic === 'lwm2m/ep-dtls/up/resp' && u.json.msgType === 'register');
      assert.ok(Array.isArray(reg.json.data?.objectList));
      await until(
        () => b.node.broker.registry.get('lwm2m', 'ep-dtls')?.session.subscriptions.size === 1,
        3000,
        'command subscription',
      );
      await app.command('ep-dtls', { reqID: 7, msgType: 'read', data: { path: '/3/0/0' } });
      const up = await app.answer('read', 7);
      assert.equal(up.json.data?.code, '2.05');
      const content = up.json.data?.content as Array<{ path: string; value: unknown }>;
      assert.equal(content[0]?.path, '/3/0/0');
      assert.equal(typeof content[0]?.value, 'string');
    } finally {
      d.close();
    }
  });

  it('a wrong key never reaches the registration interface', async () => {
    await assert.rejects(
      Lwm2mDevice.overDtls(
        { ep: 'ep-bad', port },
        { psk: { identity: 'device1', key: Buffer.from('nope') } },
      ),
      /bad_record_mac/,
    );
    assert.equal(b.node.broker.registry.get('lwm2m', 'ep-bad'), undefined);
  });
});
