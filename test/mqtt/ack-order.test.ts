/**
 * Protocol strictness and ordering on MQTT: a SUBSCRIBE with an empty topic filter is a malformed packet
 * (3.1.1: the connection closes; 5: DISCONNECT 0x81), and a QoS 1/2 PUBLISH whose delivery comes back to
 * its sender is acknowledged (PUBACK/PUBREC) before that delivery, on the wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('MQTT strictness and ack order', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.stop());

  // SUBSCRIBE, packet id 1, one filter of length 0, QoS 0.
  const EMPTY_FILTER = [0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00];

  it('3.1.1: SUBSCRIBE with an empty topic filter closes the connection (no SUBACK)', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'empty-311' }, 4);
    client.sendBytes(EMPTY_FILTER);
    await client.waitClosed();
    assert.equal(
      client.received.some((p) => p.cmd === 'suback'),
      false,
    );
  });

  it('5: SUBSCRIBE with an empty topic filter ⇒ DISCONNECT 0x81 Malformed Packet', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'empty-5' }, 5);
    // v5 SUBSCRIBE carries a properties length (0) after the packet id.
    client.sendBytes([0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
    const d = (await client.next('disconnect')) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0x81);
    await client.waitClosed();
  });

  for (const [version, qos, ack] of [
    [4, 1, 'puback'],
    [5, 1, 'puback'],
    [4, 2, 'pubrec'],
    [5, 2, 'pubrec'],
  ] as const) {
    it(`MQTT ${version === 4 ? '3.1.1' : '5'} QoS ${qos} publish to an own subscription: ${ack} before the publish`, async () => {
      const c = await connectClient(b.port, { protocolVersion: version });
      const order: string[] = [];
      c.on('packetreceive', (p) => {
        if (p.cmd === 'publish' || p.cmd === ack) order.push(p.cmd);
      });
      await subscribe(c, `echo/${version}/${qos}`, { qos });
      const delivered = new Promise<void>((r) => c.once('message', () => r()));
      await publish(c, `echo/${version}/${qos}`, 'x', { qos });
      await delivered;
      assert.deepEqual(order, [ack, 'publish']);
      await end(c);
    });
  }
});
