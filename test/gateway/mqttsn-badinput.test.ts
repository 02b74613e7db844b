/** Bad MQTT-SN input: malformed, oversize and unknown datagrams, CONNECT floods, a dtls listener without keys. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { GatewayMetricName } from '../../src/gateway/types.js';
import { collect, connectClient } from '../helpers/clients.js';
import { until } from './helpers.js';
import { type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, frame, T } from './mqttsn-client/codec.js';

describe('mqttsn: bad input', () => {
  let b: SnBroker;
  const clients: SnClient[] = [];
  before(async () => {
    b = await startSnBroker({ listeners: { udp: { default: { max_connections: 20 } } } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await b.stop();
  });
  const metric = (name: GatewayMetricName) => b.node.gateways.get('mqttsn')!.metrics.get(name);

  it('malformed, oversize and unknown datagrams are dropped silently and counted; the client goes on', async () => {
    const c = await SnClient.connected(b.snPort, 'robust');
    clients.push(c);
    const before = metric('packets.malformed');
    const ping = build.pingreq();
    c.send(Buffer.concat([ping, Buffer.from('trailing')])); // longer than its length field
    c.send(ping.subarray(0, 1)); // truncated
    c.send(Buffer.from([3, 0x1e, 0])); // unknown type
    c.send(Buffer.from([2, 0xfe])); // forwarder encapsulation: not supported
    c.send(frame(T.PUBACK, [0, 1])); // body too short
    c.send(Buffer.from([0x01, 0xff, 0xff, T.PUBLISH, 0])); // 3-byte length claiming 65535
    await c.nothing(300);
    await until(() => metric('packets.malformed') - before >= 6, 3000, 'malformed counted');
    c.send(build.pingreq());
    await c.next(T.PINGRESP);
  });

  it('random garbage from many peers never crashes the gateway', async () => {
    const socks = await Promise.all(Array.from({ length: 10 }, () => SnClient.open(b.snPort)));
    clients.push(...socks);
    for (let i = 0; i < 200; i++) socks[i % socks.length]!.send(randomBytes(1 + (i % 60)));
    const c = await SnClient.connected(b.snPort, 'after-garbage');
    clients.push(c);
    c.send(build.pingreq());
    await c.next(T.PINGRESP);
    // The garbage peers were never answered, so they are not held once they go quiet.
    for (const s of socks) s.close();
  });

  it('a flood of CONNECTs from many source ports: at most max_connections get in, others get CONNACK congestion, others unaffected', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('flood/ok');
    const victim = await SnClient.connected(b.snPort, 'victim');
    clients.push(victim);
    const id = (await victim.register(1, 'flood/ok')).topicId!;
    const gw = b.node.gateways.get('mqttsn')!;
    const refusedBefore = metric('client.max_connections_exceeded');
    const flood = await Promise.all(Array.from({ length: 60 }, () => SnClient.open(b.snPort)));
    clients.push(...flood);
    for (const [i, s] of flood.entries()) s.send(build.connect(`flood-${i}`));
    await new Promise((r) => setTimeout(r, 1000));
    const accepted = (s: SnClient) => s.inbox.some((x) => x.type === T.CONNACK && x.rc === 0);
    const acked = flood.filter(accepted).length;
    assert.ok(acked > 0 && acked < 60, `acked ${acked}`);
    // Refused at max_connections, a CONNECT is told to back off (0x01 congestion) rather than met with silence.
    const told = flood.filter((s) => s.inbox.some((x) => x.type === T.CONNACK && x.rc === 0x01)).length;
    assert.equal(acked + told, 60);
    assert.ok(gw.currentConnections <= 20);
    assert.ok(metric('client.max_connections_exceeded') > refusedBefore);
    victim.send(build.publish(id, 1, 'still here', { qos: 1 }));
    assert.equal((await victim.next(T.PUBACK)).rc, 0);
    assert.equal((await got.next(1))[0]!.payload.toString(), 'still here');
    const admitted = flood.filter(accepted);
    for (const s of admitted) s.send(build.disconnect());
    await Promise.all(admitted.map((s) => s.next(T.DISCONNECT)));
    m.end(true);
  });

  it('packets with no meaning in the state are counted as dropped', async () => {
    const before = metric('packets.dropped');
    const c = await SnClient.open(b.snPort);
    clients.push(c);
    c.send(build.subscribe(1, 'x'));
    c.send(build.regack(1, 1, 0));
    await c.nothing(200);
    await until(() => metric('packets.dropped') - before >= 2, 3000, 'dropped counted');
  });
});

describe('mqttsn: dtls', () => {
  it('a dtls listener without keys or certificates is refused with a clear error', async () => {
    const b = await startSnBroker();
    try {
      await assert.rejects(
        b.node.gateways.putListener('mqttsn', 'dtls', 'default', { bind: '127.0.0.1:0' }),
        /no usable cipher suite/,
      );
      // The gateway keeps running with its udp listener.
      const c = await SnClient.connected(b.snPort, 'after-dtls');
      c.close();
    } finally {
      await b.stop();
    }
  });
});
