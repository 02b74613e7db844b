/** Listing a KV bucket's keys within a time limit, against a real nats-server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { listKeys } from '../../src/cluster/kv-keys.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

describe('listKeys', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let kv: KV;
  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    kv = await new Kvm(nc).create('list_keys_test');
    await Promise.all(Array.from({ length: 300 }, (_, i) => kv.put(`k${i}`, String(i))));
    await kv.delete('k0');
  });
  after(async () => {
    await nc.close();
    await nats.stop();
  });

  it('returns every live key of the bucket', async () => {
    const keys = await listKeys(kv);
    assert.equal(keys.length, 299);
    assert.ok(!keys.includes('k0'), 'a deleted key is not listed');
  });

  it('a server that does not answer: an error naming the limit, not a wait; the next listing works', async () => {
    nats.proc.kill('SIGSTOP');
    try {
      await assert.rejects(listKeys(kv, 300, 2), /took over 300 ms, 2 times/);
    } finally {
      nats.proc.kill('SIGCONT');
    }
    assert.equal((await listKeys(kv)).length, 299);
  });
});
