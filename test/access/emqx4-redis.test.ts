/**
 * EMQX 3.x/4.x's Redis plugin data read as it is, against a real Redis: its commands pasted with `%u`
 * (`HGET mqtt_user:%u password`, `HGETALL mqtt_acl:%u`), its one-string password_hash, and ACL hashes
 * whose values are 4.x's access numbers (1 subscribe, 2 publish, 3 both), written with the HSETs of 4.x's plugin documentation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { startRedis } from '../helpers/servers/redis.js';
import { loginCode, RC } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('redis: EMQX 4.x mqtt_user / mqtt_acl hashes and commands', () => {
  let server: ServerProcess;
  let b: TestBroker;

  before(async () => {
    server = await startRedis();
    const r = new Redis({ port: server.port, host: '127.0.0.1' });
    // The HSET commands of 4.x's plugin documentation, with a sha256 password (its default password_hash).
    await r.call('HSET', 'mqtt_user:alice', 'is_superuser', '1');
    await r.call('HSET', 'mqtt_user:alice', 'password', sha('alice-pw'));
    await r.call('HSET', 'mqtt_acl:alice', 'topic1', '1');
    await r.call('HSET', 'mqtt_acl:alice', 'topic2', '2');
    await r.call('HSET', 'mqtt_acl:alice', 'topic3', '3');
    await r.call('HSET', 'mqtt_acl:alice', 'own/%u/#', '3');
    r.disconnect();
    const conn = { server: `127.0.0.1:${server.port}`, command_timeout: '1s', connect_timeout: '1s' };
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'redis',
            ...conn,
            cmd: 'HGET mqtt_user:%u password',
            password_hash_algorithm: 'sha256',
          },
        ],
        listeners: {
          tcp: {
            super: {
              bind: '127.0.0.1:0',
              authentication: [
                {
                  mechanism: 'password_based',
                  backend: 'redis',
                  ...conn,
                  cmd: 'HGET mqtt_user:%u password',
                  super_cmd: 'HGET mqtt_user:%u is_superuser',
                  password_hash_algorithm: 'sha256',
                },
              ],
            },
          },
        },
        authorization: {
          no_match: 'deny',
          sources: [{ type: 'redis', ...conn, cmd: 'HGETALL mqtt_acl:%u' }],
        },
      },
    });
  });
  after(async () => {
    await b?.stop();
    await server?.stop();
  });

  it('authenticates with HGET mqtt_user:%u password', async () => {
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'x' }), RC.BAD_USER);
    // A username that is a key pattern finds no key: placeholders are arguments, never command text.
    assert.notEqual(await loginCode(b.port, { username: '*', password: 'alice-pw' }), RC.OK);
    assert.notEqual(await loginCode(b.port, { username: 'alice password', password: 'alice-pw' }), RC.OK);
  });

  it('reads access 1 as subscribe, 2 as publish, 3 as both', async () => {
    const c = await connectClient(b.port, {
      clientId: 'r4',
      username: 'alice',
      password: 'alice-pw',
      protocolVersion: 5,
    });
    await subscribe(c, 'topic1', { qos: 0 });
    await assert.rejects(publish(c, 'topic1', 'x', { qos: 1 }), /authorized|135/i);
    await assert.rejects(subscribe(c, 'topic2', { qos: 0 }), /authorized/i);
    await publish(c, 'topic2', 'x', { qos: 1 });
    await subscribe(c, 'topic3', { qos: 0 });
    await publish(c, 'topic3', 'x', { qos: 1 });
    await subscribe(c, 'own/alice/x', { qos: 0 });
    await assert.rejects(subscribe(c, 'own/bob/x', { qos: 0 }), /authorized/i);
    await end(c);
  });

  it('reads is_superuser with super_cmd: a superuser passes every ACL', async () => {
    const s = await connectClient(b.node.port('tcp:super'), {
      clientId: 'r5',
      username: 'alice',
      password: 'alice-pw',
      protocolVersion: 5,
    });
    await subscribe(s, 'topic2', { qos: 0 });
    await subscribe(s, 'anything/else', { qos: 0 });
    await end(s);
  });
});
