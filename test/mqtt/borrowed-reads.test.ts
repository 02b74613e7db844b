/**
 * Plain-TCP reads are parsed where they lie, in the one read buffer every socket shares (the channel takes
 * them through onBorrowedData): whatever the broker keeps of a read must be its own copy. Each PUBLISH here
 * goes in a read of its own (the client waits for its PUBACK), so every later read overwrites the bytes of
 * the earlier ones; payloads queued for an offline session and a retained payload must come out unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';

/** A payload of its own size and bytes for message `i`, from empty up to larger than a small read. */
function payloadOf(i: number): Buffer {
  const n = (i * 37) % 1600;
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

describe('reads parsed in the shared read buffer', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_mqueue_len: 1000 } } });
  });
  after(() => b.stop());

  for (const version of [4, 5] as const) {
    it(`keeps queued and retained payloads intact across later reads (v${version === 4 ? '3.1.1' : '5'})`, async () => {
      const clientId = `lent-sub-${version}`;
      const session = version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {};
      const sub = await connectClient(b.port, {
        clientId,
        clean: false,
        protocolVersion: version,
        ...session,
      });
      await subscribe(sub, `lent${version}/#`, { qos: 1 });
      await end(sub);

      const pub = await connectClient(b.port, { protocolVersion: version });
      const count = 200;
      for (let i = 0; i < count; i++) {
        await publish(pub, `lent${version}/${i}`, payloadOf(i), { qos: 1, retain: i === 50 });
      }
      await end(pub);

      const back = await connectClient(b.port, {
        clientId,
        clean: false,
        protocolVersion: version,
        ...session,
      });
      const got = await collect(back).next(count);
      for (let i = 0; i < count; i++) {
        assert.equal(got[i]!.topic, `lent${version}/${i}`, `message ${i} in order`);
        assert.ok(got[i]!.payload.equals(payloadOf(i)), `payload of message ${i}`);
      }
      await end(back);

      const late = await connectClient(b.port, { protocolVersion: version });
      const retained = collect(late);
      await subscribe(late, `lent${version}/50`, { qos: 1 });
      const [r] = await retained.next(1);
      assert.ok(r!.payload.equals(payloadOf(50)), 'retained payload');
      assert.equal(r!.packet.retain, true);
      await end(late);
    });
  }
});
