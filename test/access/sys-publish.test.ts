/**
 * Only the broker publishes `$SYS/…`: client publishes there are refused (MQTT 5 PUBACK 0x87, 3.1.1
 * dropped and counted with the connection kept), in MQTT and in the gateways, unless an ACL rule grants
 * publish on a `$SYS` pattern explicitly. Rules that grant everything do not count.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IPubackPacket } from 'mqtt-packet';
import { gatewayPort, stompConfig } from '../gateway/helpers.js';
import { PREDEFINED } from '../gateway/mqttsn-client/broker.js';
import { SnClient } from '../gateway/mqttsn-client/client.js';
import { build, T } from '../gateway/mqttsn-client/codec.js';
import { StompRaw } from '../gateway/stomp-client.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

const FORGED = '$SYS/brokers/node@x/alarms/activate';

/** The PUBACK reason code mqtt.js saw (it rejects the publish for codes ≥ 0x80). */
async function pubRc(
  c: Parameters<typeof publish>[0],
  topic: string,
  payload: string,
  opts: Parameters<typeof publish>[3],
): Promise<number> {
  try {
    const ack = (await publish(c, topic, payload, opts)) as IPubackPacket | undefined;
    return ack?.reasonCode ?? 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

async function assertNoRetained(port: number, filter: string): Promise<void> {
  const c = await connectClient(port);
  const g = collect(c);
  await subscribe(c, filter, { qos: 1 });
  await sleep(200);
  assert.deepEqual(
    g.messages.filter((m) => m.packet.retain).map((m) => m.topic),
    [],
    'nothing forged was retained',
  );
  await end(c);
}

describe('$SYS publish: refused by default', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: {
        gateway: {
          stomp: stompConfig(),
          mqttsn: { predefined: PREDEFINED, listeners: { udp: { default: { bind: '127.0.0.1:0' } } } },
        },
      },
    });
  });
  after(() => b.stop());

  it('MQTT 5: PUBACK 0x87 Not authorized, nothing delivered or retained, the connection stays', async () => {
    const watcher = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/node@x/#', { qos: 1 });
    const c = await connectClient(b.port, { protocolVersion: 5 });
    assert.equal(await pubRc(c, FORGED, 'forged', { qos: 1, retain: true }), 0x87);
    // The connection still works.
    await subscribe(c, 'ok/t', { qos: 1 });
    const own = collect(c);
    await publish(c, 'ok/t', 'fine', { qos: 1 });
    assert.equal((await own.next(1))[0]!.payload.toString(), 'fine');
    await sleep(200);
    assert.equal(
      g.messages.filter((m) => m.topic === FORGED).length,
      0,
      'the forged message was not delivered',
    );
    await assertNoRetained(b.port, '$SYS/brokers/node@x/#');
    await end(c);
    await end(watcher);
  });

  it('MQTT 3.1.1: dropped and counted, the connection stays (mosquitto-style QoS 1 and QoS 0)', async () => {
    const before = b.node.broker.metrics.c['packets.publish.auth_error'];
    const c = await connectClient(b.port, { protocolVersion: 4 });
    await publish(c, FORGED, 'forged', { qos: 1, retain: true });
    await publish(c, '$SYS', 'forged', { qos: 0 });
    await subscribe(c, 'ok/t', { qos: 1 });
    const own = collect(c);
    await publish(c, 'ok/t', 'fine', { qos: 1 });
    assert.equal((await own.next(1))[0]!.payload.toString(), 'fine');
    assert.ok(b.node.broker.metrics.c['packets.publish.auth_error'] >= before + 2);
    await assertNoRetained(b.port, FORGED);
    await assertNoRetained(b.port, '$SYS');
    await end(c);
  });

  it('STOMP: a SEND to $SYS ⇒ ERROR "Insufficient permissions"', async () => {
    const { c } = await StompRaw.login(gatewayPort(b.node));
    c.send('SEND', { destination: FORGED }, 'forged');
    const e = await c.next('ERROR');
    assert.match(e.body, /Insufficient permissions/);
    await c.waitClosed();
  });

  it('MQTT-SN: a PUBLISH to a registered $SYS topic is refused and not delivered', async () => {
    const watcher = await connectClient(b.port);
    const g = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/node@x/#', { qos: 0 });
    const c = await SnClient.connected(gatewayPort(b.node, 'mqttsn:udp:default'), 'sn-sys');
    const reg = await c.register(1, FORGED);
    c.send(build.publish(reg.topicId!, 2, 'forged', { qos: 1 }));
    const ack = await c.next(T.PUBACK);
    assert.notEqual(ack.rc, 0);
    await sleep(200);
    assert.equal(g.messages.length, 0);
    c.close();
    await end(watcher);
  });
});

describe('$SYS publish: an explicit ACL rule grants it', () => {
  let b: TestBroker;
  const dir = mkdtempSync(join(tmpdir(), 'hermod-sys-'));
  const acl = join(dir, 'acl.conf');

  before(async () => {
    writeFileSync(
      acl,
      `{allow, {username, "sysbot"}, publish, ["$SYS/brokers/+/custom/#"]}.
       {allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
       {allow, all}.`,
    );
    b = await startBroker({
      config: { authorization: { no_match: 'allow', sources: [{ type: 'file', path: acl }] } },
    });
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a publish rule naming $SYS allows it; "all" and {allow, all} rules do not', async () => {
    const watcher = await connectClient(b.port);
    const g = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/n1/#', { qos: 1 });
    const bot = await connectClient(b.port, { protocolVersion: 5, username: 'sysbot' });
    assert.equal(await pubRc(bot, '$SYS/brokers/n1/custom/x', 'mine', { qos: 1 }), 0);
    assert.equal(await pubRc(bot, '$SYS/brokers/n1/alarms/activate', 'no', { qos: 1 }), 0x87);
    const other = await connectClient(b.port, { protocolVersion: 5, username: 'someone' });
    assert.equal(await pubRc(other, '$SYS/brokers/n1/custom/x', 'no', { qos: 1 }), 0x87);
    const msgs = await g.next(1);
    await sleep(200);
    assert.deepEqual(
      g.messages.map((m) => m.payload.toString()),
      ['mine'],
    );
    assert.equal(msgs[0]!.topic, '$SYS/brokers/n1/custom/x');
    await end(bot);
    await end(other);
    await end(watcher);
  });
});
