import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket, IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('authorization: file and built_in_database sources, no_match, deny_action, cache', () => {
  let b: TestBroker;
  const dir = mkdtempSync(join(tmpdir(), 'hermod-authz-'));
  const acl = join(dir, 'acl.conf');

  before(async () => {
    writeFileSync(
      acl,
      `{allow, {username, "admin"}, all, ["#"]}.
       {deny, all, subscribe, [{eq, "#"}]}.
       {allow, all, publish, ["devices/\${clientid}/#"]}.
       {allow, all, subscribe, ["cmd/\${clientid}"]}.
       {deny, all, publish, ["forbidden/#"]}.`,
    );
    b = await startBroker({
      config: {
        authorization: {
          no_match: 'deny',
          deny_action: 'ignore',
          cache: { enable: true, max_size: 32, ttl: '1m', excludes: ['nocache/#'] },
          sources: [{ type: 'built_in_database' }, { type: 'file', path: acl }],
        },
      },
    });
    b.node.authz.builtInRules.set('username', 'u1', [{ topic: 'u1/#', permission: 'allow', action: 'all' }]);
    b.node.authz.builtInRules.set('clientid', 'c1', [
      { topic: 'forbidden/c1', permission: 'allow', action: 'publish', qos: [1] },
    ]);
    b.node.authz.builtInRules.set('all', '', [
      { topic: 'public/#', permission: 'allow', action: 'subscribe' },
    ]);
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies acl.conf rules with placeholders and eq, and no_match = deny for the rest', async () => {
    const c = await connectClient(b.port, { clientId: 'dev9', protocolVersion: 5 });
    assert.equal((await subscribe(c, 'cmd/dev9', { qos: 1 }))[0]?.qos, 1);
    await assert.rejects(subscribe(c, 'cmd/dev8', { qos: 1 }), /Not authorized/);
    await assert.rejects(subscribe(c, '#', { qos: 0 }), /Not authorized/);
    await publish(c, 'devices/dev9/temp', 'x', { qos: 1 });
    await assert.rejects(publish(c, 'devices/dev8/temp', 'x', { qos: 1 }), /Not authorized|135/);
    await end(c);
    const admin = await connectClient(b.port, { username: 'admin', protocolVersion: 5 });
    assert.equal((await subscribe(admin, 'a/b', { qos: 0 }))[0]?.qos, 0);
    await end(admin);
  });

  it('checks built-in rules per username, per client id, then for all, before the file', async () => {
    const c = await connectClient(b.port, { clientId: 'c1', username: 'u1', protocolVersion: 5 });
    assert.equal((await subscribe(c, 'u1/x', { qos: 0 }))[0]?.qos, 0);
    assert.equal((await subscribe(c, 'public/news', { qos: 0 }))[0]?.qos, 0);
    await publish(c, 'forbidden/c1', 'x', { qos: 1 });
    await assert.rejects(publish(c, 'forbidden/c1', 'x', { qos: 2 }), /Not authorized|135/, 'qos condition');
    await end(c);
  });

  it('caches decisions per connection, except excluded topics, and clears caches on demand', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'cache1', username: 'u1' }, 5);
    const m = b.node.metrics.c;
    const sub = async (topic: string, id: number) => {
      client.send({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic, qos: 0 }] });
      return ((await client.next('suback')) as ISubackPacket).granted[0];
    };
    const hits0 = m['authorization.cache_hit'];
    assert.equal(await sub('u1/a', 1), 0);
    assert.equal(await sub('u1/a', 2), 0);
    assert.equal(m['authorization.cache_hit'], hits0 + 1);
    // A rule change clears nothing by itself; the API/CLI clear does.
    b.node.authz.builtInRules.set('username', 'u1', []);
    assert.equal(await sub('u1/a', 3), 0, 'still cached');
    assert.equal(b.node.authz.clearCache('cache1'), 1);
    assert.equal(await sub('u1/a', 4), 0x87, 'decided afresh');
    const hits1 = m['authorization.cache_hit'];
    await sub('nocache/x', 5);
    await sub('nocache/x', 6);
    assert.equal(m['authorization.cache_hit'], hits1, 'excluded topics are never cached');
    b.node.authz.builtInRules.set('username', 'u1', [{ topic: 'u1/#', permission: 'allow', action: 'all' }]);
    client.disconnect();
  });

  it('counts per-source and global metrics', async () => {
    const file = await b.node.authz.status('file');
    assert.ok(
      file!.metrics.total > 0 && file!.metrics.allow > 0 && file!.metrics.deny > 0,
      JSON.stringify(file),
    );
    const builtIn = await b.node.authz.status('built_in_database');
    assert.ok(builtIn!.metrics.allow > 0 && builtIn!.metrics.nomatch > 0);
    const c = b.node.metrics.c;
    assert.ok(
      c['authorization.matched.allow'] > 0 &&
        c['authorization.matched.deny'] > 0 &&
        c['authorization.nomatch'] > 0,
    );
  });

  it('with deny_action = disconnect sends PUBACK 0x87 and DISCONNECT 0x87', async () => {
    const raw = b.node.configService.getRaw('authorization') as Record<string, unknown>;
    await b.node.configService.update('authorization', { ...raw, deny_action: 'disconnect' });
    const { client } = await RawClient.connect(b.port, { clientId: 'dx' }, 5);
    client.send({
      cmd: 'publish',
      topic: 'forbidden/x',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 7,
      dup: false,
      retain: false,
    });
    assert.equal(((await client.next('puback')) as IPubackPacket).reasonCode, 0x87);
    assert.equal(((await client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x87);
    await client.waitClosed();
    await b.node.configService.update('authorization', { ...raw, deny_action: 'ignore' });
  });

  it('refuses a bad acl file without changing the running sources', async () => {
    const raw = b.node.configService.getRaw('authorization') as Record<string, unknown>;
    await assert.rejects(
      b.node.configService.update('authorization', {
        ...raw,
        sources: [{ type: 'file', rules: '{allow, nobody}.' }],
      }),
      /acl.conf line 1/,
    );
    assert.deepEqual(
      b.node.authz.sources().map((s) => s.type),
      ['built_in_database', 'file'],
    );
  });
});
