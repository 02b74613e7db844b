import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IAuthPacket, IDisconnectPacket, IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/**
 * A toy challenge–response authenticator on the client.authenticate hook: the server sends a nonce,
 * the client must answer with the nonce reversed. It exercises the AUTH packet flow the way SCRAM does.
 */
describe('MQTT 5 enhanced authentication (AUTH)', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
    b.node.hooks.add(
      'client.authenticate',
      (cred) => {
        if (cred.auth_method !== 'REVERSE') return undefined;
        if (cred.auth_state === undefined)
          return { stop: { kind: 'continue', auth_data: Buffer.from('abc'), state: 'abc' } };
        const ok = cred.auth_data?.toString() === [...String(cred.auth_state)].reverse().join('');
        return {
          stop: ok
            ? { kind: 'ok', auth_data: Buffer.from('welcome') }
            : { kind: 'error', reason: 'not_authorized' },
        };
      },
      970,
    );
  });
  after(() => b.stop());

  async function start(clientId: string) {
    const c = await RawClient.open(b.port, 5);
    c.send({
      cmd: 'connect',
      clientId,
      protocolVersion: 5,
      protocolId: 'MQTT',
      clean: true,
      keepalive: 30,
      properties: { authenticationMethod: 'REVERSE' },
    });
    const challenge = (await c.next('auth')) as IAuthPacket;
    assert.equal(challenge.reasonCode, 0x18);
    assert.equal(challenge.properties?.authenticationData?.toString(), 'abc');
    return c;
  }

  it('completes a challenge–response exchange and sends the final data in CONNACK', async () => {
    const c = await start('ea-ok');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('cba') },
    });
    const connack = (await c.next('connack')) as {
      reasonCode: number;
      properties?: { authenticationMethod?: string; authenticationData?: Buffer };
    };
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'REVERSE');
    assert.equal(connack.properties?.authenticationData?.toString(), 'welcome');
    // Re-authentication with the same method.
    c.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'REVERSE' } });
    const again = (await c.next('auth')) as IAuthPacket;
    assert.equal(again.reasonCode, 0x18);
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('cba') },
    });
    const done = (await c.next('auth')) as IAuthPacket;
    assert.equal(done.reasonCode, 0);
    c.disconnect();
  });

  it('refuses a wrong answer with CONNACK 0x87', async () => {
    const c = await start('ea-bad');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('abc') },
    });
    const connack = (await c.next('connack')) as { reasonCode: number };
    assert.equal(connack.reasonCode, 0x87);
    await c.waitClosed();
  });

  it('treats AUTH with another method as a protocol error', async () => {
    const c = await start('ea-other');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'OTHER', authenticationData: Buffer.from('cba') },
    });
    await c.waitClosed();
  });

  it('disconnects a re-authentication that fails', async () => {
    const c = await start('ea-reauth');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('cba') },
    });
    await c.next('connack');
    c.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'REVERSE' } });
    await c.next('auth');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('nope') },
    });
    const d = (await c.next('disconnect')) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0x87);
  });
});

describe('reason strings', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
    b.node.hooks.add(
      'client.authorize',
      (_ci, _action, topic) =>
        topic.startsWith('secret/') ? { stop: { result: 'deny', from: 'test' } } : undefined,
      960,
    );
  });
  after(() => b.stop());

  it('explains failures on PUBACK and SUBACK unless the client asked for no problem information', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'rs' }, 5);
    client.send({
      cmd: 'publish',
      topic: 'secret/x',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    const ack = (await client.next('puback')) as IPubackPacket;
    assert.equal(ack.reasonCode, 0x87);
    assert.equal(ack.properties?.reasonString, 'not_authorized');
    client.send({
      cmd: 'subscribe',
      messageId: 2,
      subscriptions: [
        { topic: 'secret/#', qos: 0 },
        { topic: 'open/#', qos: 0 },
      ],
    });
    const sa = (await client.next('suback')) as ISubackPacket;
    assert.deepEqual(sa.granted, [0x87, 0]);
    assert.match(sa.properties?.reasonString ?? '', /secret\/#: not_authorized/);
    client.disconnect();
    const quiet = await RawClient.connect(
      b.port,
      { clientId: 'rs2', properties: { requestProblemInformation: false } },
      5,
    );
    quiet.client.send({
      cmd: 'publish',
      topic: 'secret/x',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    const ack2 = (await quiet.client.next('puback')) as IPubackPacket;
    assert.equal(ack2.reasonCode, 0x87);
    assert.equal(ack2.properties?.reasonString, undefined);
    quiet.client.disconnect();
  });
});
