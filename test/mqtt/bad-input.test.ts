import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket } from 'mqtt-packet';
import mqttPacket from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('bad input', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_packet_size: '4KB' } } });
  });
  after(() => b.stop());

  async function expectDisconnect(bytes: number[] | Buffer, rc: number) {
    const { client } = await RawClient.connect(b.port, { clientId: `bad-${Math.random()}` }, 5);
    client.sendBytes(bytes);
    const d = (await client.next('disconnect')) as IDisconnectPacket;
    assert.equal(d.reasonCode, rc);
    await client.waitClosed();
  }

  it('answers malformed MQTT 5 packets with DISCONNECT 0x81 and counts them', async () => {
    const before = b.node.metrics.c['packets.malformed'];
    await expectDisconnect([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], 0x81); // PUBLISH with QoS 3
    await expectDisconnect([0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61], 0x81); // SUBSCRIBE truncated filter
    await expectDisconnect([0x62, 0x01, 0x00], 0x81); // PUBREL shorter than its packet id
    await expectDisconnect([0x32, 0x07, 0x00, 0x02, 0xc3, 0x28, 0x00, 0x01, 0x00], 0x81); // invalid UTF-8 topic
    assert.ok(b.node.metrics.c['packets.malformed'] >= before + 4);
  });

  it('answers reserved flags and protocol violations with the right reason code', async () => {
    await expectDisconnect([0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00], 0x81); // SUBSCRIBE without 0b0010 flags
    await expectDisconnect([0x82, 0x03, 0x00, 0x01, 0x00], 0x82); // SUBSCRIBE with no filters
    await expectDisconnect([0x30, 0x04, 0x00, 0x01, 0x2b, 0x00], 0x90); // wildcard in topic name
  });

  it('refuses packets above max_packet_size with 0x95', async () => {
    await expectDisconnect(
      mqttPacket.generate({
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(5000),
        qos: 0,
        dup: false,
        retain: false,
      }),
      0x95,
    );
  });

  it('closes a 3.1.1 connection on a malformed packet without any reply', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'bad311' }, 4);
    client.sendBytes([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]);
    await client.waitClosed();
    assert.equal(client.received.length, 0);
  });

  it('survives random and mutated frames thrown at a live listener (fuzz), and still serves clients', async () => {
    const valid = [
      mqttPacket.generate(
        {
          cmd: 'connect',
          clientId: 'fz',
          protocolVersion: 5,
          protocolId: 'MQTT',
          clean: true,
          keepalive: 30,
        },
        { protocolVersion: 5 },
      ),
      mqttPacket.generate(
        {
          cmd: 'publish',
          topic: 'f/t',
          payload: Buffer.from('x'),
          qos: 1,
          messageId: 1,
          dup: false,
          retain: false,
        },
        { protocolVersion: 5 },
      ),
      mqttPacket.generate(
        { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'f/#', qos: 1 }] },
        { protocolVersion: 5 },
      ),
      mqttPacket.generate({ cmd: 'pingreq' }),
    ];
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const sockets: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      let bytes: Buffer;
      if (i % 3 === 0) bytes = randomBytes(1 + (rnd() % 200));
      else {
        bytes = Buffer.concat(valid.slice(0, 1 + (rnd() % valid.length)));
        for (let k = 0; k < 1 + (rnd() % 4); k++) bytes[rnd() % bytes.length] = rnd() & 0xff;
      }
      sockets.push(
        RawClient.open(b.port, 5).then(async (c) => {
          c.sendBytes(bytes);
          await new Promise((r) => setTimeout(r, 50));
          c.destroy();
        }),
      );
      if (sockets.length >= 50) await Promise.all(sockets.splice(0));
    }
    await Promise.all(sockets);
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(sub);
    await subscribe(sub, 'after/fuzz', { qos: 1 });
    const pub = await connectClient(b.port);
    await publish(pub, 'after/fuzz', 'alive', { qos: 1 });
    const [m] = await g.next(1);
    assert.equal(m!.payload.toString(), 'alive');
    await Promise.all([end(sub), end(pub)]);
  });
});
