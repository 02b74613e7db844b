import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { RawClient } from '../helpers/raw-client.js';

describe('hermod ctl authz cache-clean', () => {
  let b: TestBroker;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', b.dataDir!, ...args]);
  before(async () => {
    b = await startBroker({
      api: true,
      tempDataDir: true,
      config: { authorization: { sources: [{ type: 'built_in_database' }] } },
    });
  });
  after(() => b.stop());

  async function cachedClient(clientId: string) {
    const { client } = await RawClient.connect(b.port, { clientId }, 5);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `t/${clientId}`, qos: 0 }] });
    await client.next('suback');
    return client;
  }
  const cacheSize = (clientId: string) =>
    [...b.node.broker.registry.records()].find((r) => r.session.clientid === clientId)?.channel as
      | { authzCache?: { size: number } }
      | undefined;

  it('clears one client, then every client; a bad argument prints the usage', async () => {
    const c1 = await cachedClient('k1');
    const c2 = await cachedClient('k2');
    assert.equal(cacheSize('k1')?.authzCache?.size, 1);
    const one = await ctl('authz', 'cache-clean', 'k1');
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /Drain k1 authz cache successfully/);
    assert.equal(cacheSize('k1')?.authzCache?.size, 0);
    assert.equal(cacheSize('k2')?.authzCache?.size, 1);
    const all = await ctl('authz', 'cache-clean', 'all');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(cacheSize('k2')?.authzCache?.size, 0);
    const node = await ctl('authz', 'cache-clean', 'node', b.node.name);
    assert.equal(node.code, 0, node.stderr);
    assert.notEqual((await ctl('authz', 'cache-clean', 'nosuchclient')).code, 0);
    const usage = await ctl('authz', 'flush');
    assert.notEqual(usage.code, 0);
    assert.match(usage.stdout + usage.stderr, /authz cache-clean all/);
    c1.disconnect();
    c2.disconnect();
  });
});
