/**
 * MongoDB backends against a real server. Debian ships no MongoDB server and the npm packages that provide
 * one download a mongod binary at install or run time, which this machine cannot do; so these tests run
 * when HERMOD_TEST_MONGODB names a server (e.g. mongodb://127.0.0.1:27017) and are reported as not run,
 * with that reason, otherwise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, subscribe } from '../helpers/clients.js';
import { loginCode, RC } from './helpers.js';

const url = process.env.HERMOD_TEST_MONGODB;
const reason =
  'no MongoDB server: Debian has no mongodb-server package and npm MongoDB servers download mongod at run time (no network here); set HERMOD_TEST_MONGODB=mongodb://host:port to run these tests';
if (url === undefined) console.log(`mongodb tests not run: ${reason}`);

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('mongodb: authentication and authorization against a real server', {
  skip: url === undefined ? reason : false,
}, () => {
  let b: TestBroker;
  let client: MongoClient;
  const database = `hermod_test_${process.pid}`;

  before(async () => {
    client = new MongoClient(url!);
    await client.connect();
    const db = client.db(database);
    await db.collection('mqtt_user').insertMany([
      { username: 'alice', password_hash: sha('s1alice-pw'), salt: 's1', is_superuser: false },
      { username: 'root', password_hash: sha('s2root-pw'), salt: 's2', is_superuser: true },
    ]);
    await db
      .collection('mqtt_acl')
      .insertMany([{ username: 'alice', permission: 'allow', action: 'subscribe', topics: ['alice/#'] }]);
    const u = new URL(url!);
    const conn = { server: u.host, database };
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'mongodb',
            ...conn,
            collection: 'mqtt_user',
            filter: { username: '${username}' },
          },
        ],
        authorization: {
          no_match: 'deny',
          sources: [
            { type: 'mongodb', ...conn, collection: 'mqtt_acl', filter: { username: '${username}' } },
          ],
        },
      },
    });
  });
  after(async () => {
    await b?.stop();
    await client?.db(database).dropDatabase();
    await client?.close();
  });

  it('authenticates from documents and authorizes from rule documents', async () => {
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'bad' }), RC.BAD_USER);
    const c = await connectClient(b.port, { username: 'alice', password: 'alice-pw', protocolVersion: 5 });
    assert.equal((await subscribe(c, 'alice/x', { qos: 0 }))[0]?.qos, 0);
    await assert.rejects(subscribe(c, 'bob/x', { qos: 0 }), /Not authorized/);
    await end(c);
  });

  it('compares placeholder values as strings: operator-looking usernames match nothing', async () => {
    for (const u of ['{"$ne": null}', '{"$gt": ""}', '.*']) {
      assert.equal(await loginCode(b.port, { username: u, password: 'alice-pw' }), RC.NOT_AUTHORIZED, u);
    }
  });
});
