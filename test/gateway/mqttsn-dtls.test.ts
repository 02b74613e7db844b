/**
 * MQTT-SN over a dtls listener: the independent MQTT-SN test client inside a DTLS session (PSK) exchanges
 * messages with an mqtt.js client, its PSK identity being the username; a wrong key never logs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClientInfo } from '../../src/broker/types.js';
import { collect, connectClient } from '../helpers/clients.js';
import { type DtlsFixtures, makeDtlsFixtures } from '../transport/dtls/fixtures.js';
import { gatewayPort, until } from './helpers.js';
import { type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn over dtls', () => {
  let fx: DtlsFixtures;
  let b: SnBroker;
  let port: number;
  const logins: ClientInfo[] = [];
  let off: () => void;
  before(async () => {
    fx = makeDtlsFixtures();
    b = await startSnBroker(
      { listeners: { dtls: { default: { bind: '127.0.0.1:0' } } } },
      { psk_authentication: { enable: true, init_file: fx.pskFile } },
    );
    port = gatewayPort(b.node, 'mqttsn:dtls:default');
    // client.connected sees the ClientInfo authentication and authorization used.
    off = b.node.hooks.add('client.connected', (ci) => {
      if (ci.clientid.startsWith('sn-')) logins.push(ci);
    });
  });
  after(async () => {
    off();
    await b.stop();
    fx.remove();
  });

  it('CONNECT, PUBLISH and a delivery travel through the DTLS session; the PSK identity is the username', async () => {
    const sn = await SnClient.overDtls(port, { psk: { identity: 'device1', key: Buffer.from('secret') } });
    sn.send(build.connect('sn-dtls'));
    assert.equal((await sn.next(T.CONNACK)).rc, 0);
    await until(() => logins.length > 0, 3000, 'client.connected');
    assert.equal(logins.at(-1)?.username, 'device1');
    assert.equal(logins.at(-1)?.clientid, 'sn-dtls');

    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('sn/up');
    const id = (await sn.register(1, 'sn/up')).topicId!;
    sn.send(build.publish(id, 2, 'over dtls', { qos: 1 }));
    assert.equal((await sn.next(T.PUBACK)).rc, 0);
    assert.equal((await box.next(1))[0]!.payload.toString(), 'over dtls');

    const sub = await sn.subscribe(3, 'sn/down', 0);
    await m.publishAsync('sn/down', 'to the device');
    const pub = await sn.next(T.PUBLISH);
    assert.equal(pub.topicId, sub.topicId);
    assert.equal(pub.data?.toString(), 'to the device');

    sn.send(build.disconnect());
    await sn.next(T.DISCONNECT);
    sn.close();
    await m.endAsync();
  });

  it('a wrong key fails the handshake: nothing reaches the gateway', async () => {
    const before = logins.length;
    await assert.rejects(
      SnClient.overDtls(port, { psk: { identity: 'device1', key: Buffer.from('nope') } }),
      /bad_record_mac/,
    );
    assert.equal(logins.length, before);
  });
});
