import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, subscribe } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { startRedis } from '../helpers/servers/redis.js';
import { loginCode, loginEventually, RC } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('redis: authentication (HMGET / HGET) and authorization (HGETALL) against a real server', () => {
  let server: ServerProcess;
  let b: TestBroker;

  before(async () => {
    server = await startRedis();
    const r = new Redis({ port: server.port, host: '127.0.0.1' });
    await r.hset('mqtt_user:alice', { password_hash: sha('s1alice-pw'), salt: 's1', is_superuser: '0' });
    await r.hset('mqtt_user:root', { password_hash: sha('s2root-pw'), salt: 's2', is_superuser: '1' });
    await r.hset('mqtt_user:plainuser', { password: 'plain-pw' });
    await r.hset('mqtt_acl:alice', {
      'alice/#': 'subscribe',
      'up/${username}': '{"action":"publish","qos":[0,1]}',
      'both/t': 'all',
    });
    // A key an injected username might aim for.
    await r.hset('mqtt_user:*', { password_hash: sha('s3x'), salt: 's3' });
    r.disconnect();
    const conn = { server: `127.0.0.1:${server.port}`, command_timeout: '1s', connect_timeout: '1s' };
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'redis',
            ...conn,
            cmd: 'HMGET mqtt_user:${username} password_hash salt is_superuser',
          },
        ],
        listeners: {
          tcp: {
            hget: {
              bind: '127.0.0.1:0',
              authentication: [
                {
                  mechanism: 'password_based',
                  backend: 'redis',
                  ...conn,
                  cmd: 'HGET mqtt_user:${username} password',
                  password_hash_algorithm: { name: 'plain', salt_position: 'disable' },
                },
              ],
            },
          },
        },
        authorization: {
          no_match: 'deny',
          sources: [{ type: 'redis', ...conn, cmd: 'HGETALL mqtt_acl:${username}' }],
        },
      },
    });
  });
  after(async () => {
    await b?.stop();
    await server?.stop();
  });

  it('authenticates with HMGET fields and HGET of a plain password', async () => {
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'x' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'ghost', password: 'x' }), RC.NOT_AUTHORIZED);
    assert.equal(
      await loginCode(b.node.port('tcp:hget'), { username: 'plainuser', password: 'plain-pw' }),
      RC.OK,
    );
    assert.equal(
      await loginCode(b.node.port('tcp:hget'), { username: 'plainuser', password: 'plain-px' }),
      RC.BAD_USER,
    );
  });

  it('keeps a placeholder value inside its one argument (no extra words or commands)', async () => {
    for (const u of ['alice password_hash', 'x\r\nFLUSHALL\r\n', 'alice salt', '* ']) {
      assert.equal(
        await loginCode(b.port, { username: u, password: 'alice-pw' }),
        RC.NOT_AUTHORIZED,
        JSON.stringify(u),
      );
    }
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK, 'data intact');
  });

  it('authorizes from a hash of topic → action (or JSON with qos); superusers bypass', async () => {
    const c = await connectClient(b.port, { username: 'alice', password: 'alice-pw', protocolVersion: 5 });
    assert.equal((await subscribe(c, 'alice/x', { qos: 1 }))[0]?.qos, 1);
    assert.equal((await subscribe(c, 'both/t', { qos: 0 }))[0]?.qos, 0);
    await assert.rejects(subscribe(c, 'up/alice', { qos: 0 }), /Not authorized/, 'publish-only topic');
    const ok = await new Promise<boolean>((r) => c.publish('up/alice', 'x', { qos: 1 }, (err) => r(!err)));
    assert.equal(ok, true);
    const q2 = await new Promise<boolean>((r) => c.publish('up/alice', 'x', { qos: 2 }, (err) => r(!err)));
    assert.equal(q2, false);
    await end(c);
    const root = await connectClient(b.port, { username: 'root', password: 'root-pw', protocolVersion: 5 });
    assert.equal((await subscribe(root, 'x/#', { qos: 0 }))[0]?.qos, 0);
    await end(root);
  });

  it('answers ignore when redis is down (after command_timeout), shows disconnected, reconnects by itself', async () => {
    await server.kill();
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.NOT_AUTHORIZED);
    assert.notEqual((await b.node.authn.status('mqtt:global', 'password_based:redis'))?.status, 'connected');
    server = await server.restart();
    const r = new Redis({ port: server.port, host: '127.0.0.1' });
    await r.hset('mqtt_user:alice', { password_hash: sha('s1alice-pw'), salt: 's1' });
    r.disconnect();
    assert.equal(await loginEventually(b.port, { username: 'alice', password: 'alice-pw' }, RC.OK), RC.OK);
    assert.equal((await b.node.authn.status('mqtt:global', 'password_based:redis'))?.status, 'connected');
  });
});
