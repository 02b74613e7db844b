/**
 * How the broker ends the TCP connection after a client's DISCONNECT: the client sends nothing more
 * [MQTT-3.14.4-1], so the broker closes without waiting for the client's FIN. What the client sees must
 * stay what a graceful end gives: every byte the broker wrote before, then an orderly end of stream, never
 * a reset, and the disconnect reported with its reason.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, sleep } from '../helpers/clients.js';

const V5 = { protocolVersion: 5 } as const;

interface Ending {
  bytes: number;
  publishes: number;
  how: 'end' | string;
}

/** Reads `sock` to its end: bytes, PUBLISH packets, and 'end' (FIN) or the error that ended it. */
function readToEnd(sock: net.Socket): Promise<Ending> {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  let bytes = 0;
  let publishes = 0;
  parser.on('packet', (p) => {
    if (p.cmd === 'publish') publishes++;
  });
  return new Promise((resolve) => {
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      parser.parse(d);
    });
    sock.on('end', () => resolve({ bytes, publishes, how: 'end' }));
    sock.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ bytes, publishes, how: err.code ?? err.message }),
    );
  });
}

/** A raw MQTT 5 client (allowHalfOpen: it never sends its FIN unless told) connected and subscribed. */
async function rawSubscriber(port: number, clientId: string, topic: string): Promise<net.Socket> {
  const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const seen = new Set<string>();
  parser.on('packet', (p) => seen.add(p.cmd));
  const onData = (d: Buffer) => parser.parse(d);
  sock.on('data', onData);
  const waitFor = async (cmd: string) => {
    for (let i = 0; i < 200 && !seen.has(cmd); i++) await sleep(10);
    assert.ok(seen.has(cmd), `no ${cmd}`);
  };
  sock.write(
    mqttPacket.generate({ cmd: 'connect', clientId, protocolVersion: 5, clean: true, keepalive: 60 }),
  );
  await waitFor('connack');
  sock.write(
    mqttPacket.generate(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }], properties: {} },
      V5,
    ),
  );
  await waitFor('suback');
  sock.off('data', onData);
  return sock;
}

describe('closing after a client DISCONNECT', () => {
  let b: TestBroker;
  const disconnected: string[] = [];
  before(async () => {
    b = await startBroker();
    b.node.hooks.add(
      'client.disconnected',
      ((info: { clientid: string }, reason: string) => {
        disconnected.push(`${info.clientid}:${reason}`);
        return undefined;
      }) as never,
      1,
    );
  });
  after(() => b.stop());

  it('ends with a FIN while the client keeps its side open, and reports reason normal', async () => {
    const sock = await rawSubscriber(b.port, 'dc-open', 'dc/open');
    const ending = readToEnd(sock);
    sock.write(mqttPacket.generate({ cmd: 'disconnect', reasonCode: 0 }, V5));
    const got = await ending;
    assert.equal(got.how, 'end');
    for (let i = 0; i < 100 && !disconnected.includes('dc-open:normal'); i++) await sleep(10);
    assert.ok(disconnected.includes('dc-open:normal'), disconnected.join(','));
    sock.destroy();
  });

  it('still delivers every byte written before the DISCONNECT, then the FIN, to a client that had not read them', async () => {
    const sock = await rawSubscriber(b.port, 'dc-unread', 'dc/unread');
    // The client stops reading: what the broker writes waits in the kernel's buffers.
    sock.pause();
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    const payload = Buffer.alloc(8 * 1024, 7);
    const count = 40;
    for (let i = 0; i < count; i++) pub.publish('dc/unread', payload, { qos: 0 });
    await end(pub);
    // Let the broker hand those deliveries on before it reads the DISCONNECT.
    await sleep(200);
    sock.write(mqttPacket.generate({ cmd: 'disconnect', reasonCode: 0 }, V5));
    await sleep(200);
    const ending = readToEnd(sock);
    sock.resume();
    const got = await ending;
    assert.equal(got.how, 'end');
    assert.equal(got.publishes, count);
    sock.destroy();
  });
});
