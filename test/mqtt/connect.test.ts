import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('CONNECT', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_clientid_len: 30, idle_timeout: '1s' } } });
  });
  after(() => b.stop());

  it('accepts MQTT 3.1, 3.1.1 and 5 clients', async () => {
    for (const v of [3, 4, 5] as const) {
      const { client, connack } = await RawClient.connect(b.port, { clientId: `v${v}` }, v);
      assert.equal(v === 5 ? connack.reasonCode : connack.returnCode, 0, `level ${v}`);
      client.disconnect();
    }
  });

  it('says session present to a returning 3.1.1 client, and never to a 3.1 client (no such flag there)', async () => {
    for (const v of [3, 4] as const) {
      const id = `present-v${v}`;
      const first = await RawClient.connect(b.port, { clientId: id, clean: false }, v);
      assert.equal(first.connack.returnCode, 0);
      assert.equal(first.connack.sessionPresent, false, `level ${v}, first`);
      first.client.disconnect();
      await first.client.waitClosed();
      const again = await RawClient.connect(b.port, { clientId: id, clean: false }, v);
      assert.equal(again.connack.returnCode, 0);
      assert.equal(again.connack.sessionPresent, v === 4, `level ${v}, again`);
      again.client.disconnect();
      await again.client.waitClosed();
    }
  });

  it('assigns a client id to an empty one with clean start, and tells MQTT 5 clients', async () => {
    const { client, connack } = await RawClient.connect(b.port, { clientId: '', clean: true }, 5);
    assert.equal(connack.reasonCode, 0);
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.ok(assigned && assigned.length > 0);
    client.disconnect();
    const v4 = await RawClient.connect(b.port, { clientId: '', clean: true }, 4);
    assert.equal(v4.connack.returnCode, 0);
    v4.client.disconnect();
  });

  it('refuses an empty client id without clean session (3.1.1) with identifier rejected', async () => {
    // mqtt-packet refuses to encode this CONNECT, so the bytes are written by hand.
    const client = await RawClient.open(b.port, 4);
    client.sendBytes([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00]);
    const connack = (await client.next('connack')) as IConnackPacket;
    assert.equal(connack.returnCode, 2);
    await client.waitClosed();
  });

  it('refuses a client id longer than max_clientid_len: 0x85 (v5), 2 (3.1.1)', async () => {
    const long = 'x'.repeat(31);
    const v5 = await RawClient.connect(b.port, { clientId: long }, 5);
    assert.equal(v5.connack.reasonCode, 0x85);
    await v5.client.waitClosed();
    const v4 = await RawClient.connect(b.port, { clientId: long }, 4);
    assert.equal(v4.connack.returnCode, 2);
    await v4.client.waitClosed();
  });

  it('answers an unsupported protocol level with CONNACK 1 and closes', async () => {
    const c = await RawClient.open(b.port, 4);
    // CONNECT with protocol name MQTT, level 6.
    c.sendBytes([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]);
    const ack = (await c.next('connack')) as IConnackPacket;
    assert.equal(ack.returnCode, 1);
    await c.waitClosed();
  });

  it('closes a connection whose first packet is not CONNECT', async () => {
    const c = await RawClient.open(b.port, 4);
    c.send({ cmd: 'pingreq' });
    await c.waitClosed();
    assert.equal(c.received.length, 0);
  });

  it('disconnects a client that sends a second CONNECT (v5: 0x82)', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'twice' }, 5);
    client.send({
      cmd: 'connect',
      clientId: 'twice',
      protocolVersion: 5,
      protocolId: 'MQTT',
      clean: true,
      keepalive: 0,
    });
    const d = (await client.next('disconnect')) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0x82);
    await client.waitClosed();
  });

  it('closes a connection that sends no CONNECT within idle_timeout', async () => {
    const c = await RawClient.open(b.port, 4);
    await c.waitClosed(5000);
  });

  it('keeps a connection whose login takes the broker longer than idle_timeout to check', async () => {
    // idle_timeout bounds the wait for CONNECT, not the broker's own work: a login storm against a slow
    // hash (bcrypt) queues checks for longer than that.
    const off = b.node.hooks.add('client.authenticate', async (cred) => {
      if (cred.username === 'slow') await new Promise((r) => setTimeout(r, 2500));
      return undefined;
    });
    try {
      const { client, connack } = await RawClient.connect(
        b.port,
        { clientId: 'slow-login', username: 'slow' },
        4,
      );
      assert.equal(connack.returnCode, 0);
      client.disconnect();
    } finally {
      off();
    }
  });

  it('hands username and password to client.authenticate', async () => {
    const seen: Array<{ username?: string; password?: string }> = [];
    const off = b.node.hooks.add('client.authenticate', (cred) => {
      seen.push({ username: cred.username, password: cred.password?.toString() });
      return cred.username === 'bad'
        ? { stop: { kind: 'error', reason: 'bad_username_or_password' } }
        : undefined;
    });
    try {
      const ok = await connectClient(b.port, { username: 'alice', password: 'secret' });
      await end(ok);
      assert.deepEqual(seen[0], { username: 'alice', password: 'secret' });
      const v5 = await RawClient.connect(b.port, { username: 'bad', password: Buffer.from('x') }, 5);
      assert.equal(v5.connack.reasonCode, 0x86);
      const v4 = await RawClient.connect(b.port, { username: 'bad', password: Buffer.from('x') }, 4);
      assert.equal(v4.connack.returnCode, 4);
    } finally {
      off();
    }
  });

  it('refuses enhanced authentication with no authenticator for the method: 0x8C', async () => {
    const { connack, client } = await RawClient.connect(
      b.port,
      {
        clientId: 'ea',
        properties: {
          authenticationMethod: 'SCRAM-SHA-256',
          authenticationData: Buffer.from('n,,n=u,r=abc'),
        },
      },
      5,
    );
    assert.equal(connack.reasonCode, 0x8c);
    await client.waitClosed();
  });
});

describe('keepalive', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { server_keepalive: 2 } } });
  });
  after(() => b.stop());

  it('disconnects a silent client after 1.5 × keepalive (v5: 0x8D)', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'ka', keepalive: 1 }, 5);
    const started = Date.now();
    const d = (await client.next('disconnect', 6000)) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0x8d);
    assert.ok(Date.now() - started >= 2000, 'not before keepalive × 1.5');
    await client.waitClosed();
  });

  it('tells MQTT 5 clients the Server Keep Alive it imposes', async () => {
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'ska', keepalive: 600 }, 5);
    assert.equal(connack.properties?.serverKeepAlive, 2);
    client.disconnect();
  });

  it('keeps a client that pings', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'pinger', keepalive: 1 }, 4);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700));
      client.send({ cmd: 'pingreq' });
      await client.next('pingresp');
    }
    assert.equal(client.closed, false);
    client.disconnect();
  });
});
