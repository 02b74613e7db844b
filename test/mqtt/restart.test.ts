import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { startBroker } from '../helpers/broker.js';
import { connectClient, end, publish } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('graceful stop and restart', () => {
  it('sends MQTT 5 clients DISCONNECT 0x8B, and keeps persistent sessions across a restart', async () => {
    const b1 = await startBroker({ tempDataDir: true });
    const dir = b1.dataDir!;
    try {
      const sub = await RawClient.connect(
        b1.port,
        { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 3600 } },
        5,
      );
      sub.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kept/#', qos: 1 }] });
      await sub.client.next('suback');
      const pub = await connectClient(b1.port);
      await publish(pub, 'kept/1', 'before-stop', { qos: 1 });
      const inflight = (await sub.client.next('publish')) as IPublishPacket; // left unacknowledged
      await end(pub);
      const stopping = b1.node.stop();
      const d = (await sub.client.next('disconnect')) as IDisconnectPacket;
      assert.equal(d.reasonCode, 0x8b);
      await stopping;

      const b2 = await startBroker({ dataDir: dir });
      try {
        // Queue a message for the offline (restored) session.
        const pub2 = await connectClient(b2.port);
        await publish(pub2, 'kept/2', 'after-restart', { qos: 1 });
        await end(pub2);
        const back = await RawClient.connect(
          b2.port,
          { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 3600 } },
          5,
        );
        assert.equal(back.connack.sessionPresent, true);
        const redelivered = (await back.client.next('publish')) as IPublishPacket;
        assert.equal(redelivered.payload.toString(), 'before-stop');
        assert.equal(redelivered.dup, true);
        assert.equal(redelivered.messageId, inflight.messageId);
        back.client.send({ cmd: 'puback', messageId: redelivered.messageId! });
        const queued = (await back.client.next('publish')) as IPublishPacket;
        assert.equal(queued.payload.toString(), 'after-restart');
        back.client.send({ cmd: 'puback', messageId: queued.messageId! });
        back.client.disconnect();
      } finally {
        await b2.node.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
