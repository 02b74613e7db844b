import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('will messages', () => {
  let b: TestBroker;
  let watcher: Awaited<ReturnType<typeof connectClient>>;
  let got: ReturnType<typeof collect>;
  before(async () => {
    b = await startBroker();
    watcher = await connectClient(b.port, { protocolVersion: 5 });
    got = collect(watcher);
    await subscribe(watcher, 'will/#', { qos: 1 });
  });
  after(async () => {
    await end(watcher);
    await b.stop();
  });

  const withWill = (topic: string, extra: Record<string, unknown> = {}) => ({
    will: { topic, payload: Buffer.from(`gone:${topic}`), qos: 1 as const, retain: false, ...extra },
  });

  it('is published when the connection drops', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'w1', ...withWill('will/drop') }, 4);
    client.destroy();
    const m = (await got.next(got.messages.length + 1)).at(-1)!;
    assert.equal(m.topic, 'will/drop');
    assert.equal(m.payload.toString(), 'gone:will/drop');
  });

  it('is not published after a normal DISCONNECT', async () => {
    const before = got.messages.length;
    const { client } = await RawClient.connect(b.port, { clientId: 'w2', ...withWill('will/normal') }, 4);
    client.disconnect();
    await client.waitClosed();
    await sleep(200);
    assert.equal(got.messages.length, before);
  });

  it('is published after DISCONNECT with reason 0x04 (MQTT 5)', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'w3', ...withWill('will/with') }, 5);
    client.disconnect(0x04);
    const m = (await got.next(got.messages.length + 1)).at(-1)!;
    assert.equal(m.topic, 'will/with');
  });

  it('is published on keepalive timeout', async () => {
    const { client } = await RawClient.connect(
      b.port,
      { clientId: 'w4', keepalive: 1, ...withWill('will/ka') },
      4,
    );
    const m = (await got.next(got.messages.length + 1, 5000)).at(-1)!;
    assert.equal(m.topic, 'will/ka');
    await client.waitClosed();
  });

  it('carries its properties and waits for its Will Delay Interval', async () => {
    const before = got.messages.length;
    const { client } = await RawClient.connect(
      b.port,
      {
        clientId: 'w5',
        properties: { sessionExpiryInterval: 30 },
        ...withWill('will/delay', {
          properties: {
            willDelayInterval: 1,
            contentType: 'text/plain',
            userProperties: { a: '1' },
            responseTopic: 'r/t',
          },
        }),
      },
      5,
    );
    const closedAt = Date.now();
    client.destroy();
    const m = (await got.next(before + 1, 4000)).at(-1)!;
    assert.ok(Date.now() - closedAt >= 900, 'not before the will delay');
    assert.equal(m.topic, 'will/delay');
    assert.equal(m.packet.properties?.contentType, 'text/plain');
    assert.equal(m.packet.properties?.responseTopic, 'r/t');
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { a: '1' });
  });

  it('is not published when the client comes back within the Will Delay Interval', async () => {
    const before = got.messages.length;
    const opts = {
      clientId: 'w6',
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      ...withWill('will/back', { properties: { willDelayInterval: 2 } }),
    };
    const first = await RawClient.connect(b.port, opts, 5);
    first.client.destroy();
    await sleep(300);
    const again = await RawClient.connect(b.port, opts, 5);
    await sleep(2500);
    assert.equal(got.messages.length, before);
    again.client.disconnect();
  });

  it('is retained when its retain flag is set', async () => {
    const { client } = await RawClient.connect(
      b.port,
      { clientId: 'w7', ...withWill('will/retained', { retain: true }) },
      4,
    );
    client.destroy();
    await got.next(got.messages.length + 1);
    const late = await connectClient(b.port);
    const g = collect(late);
    await subscribe(late, 'will/retained', { qos: 1 });
    const [m] = await g.next(1);
    assert.equal(m!.packet.retain, true);
    await end(late);
  });
});
