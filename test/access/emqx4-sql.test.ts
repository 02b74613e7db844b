/**
 * EMQX 3.x/4.x auth plugin data read as it is, against real MariaDB and PostgreSQL: 4.x's documented
 * CREATE TABLE and INSERT statements, its default queries with `%u`/`%c`/`%a` placeholders pasted with their
 * quotes (bound as parameters: injection attempts fail), its one-string password_hash forms, and its
 * mqtt_acl rows evaluated with 4.x's rules (first match in row order).
 */
import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { MY_DATABASE, MY_PASSWORD, MY_USER, startMariadb } from '../helpers/servers/mariadb.js';
import { PG_DATABASE, PG_PASSWORD, PG_USER, startPostgres } from '../helpers/servers/postgres.js';
import { MYSQL_SEED, PG_SEED, seedPostgres } from './emqx4-seed.js';
import { loginCode, RC } from './helpers.js';
import { INJECTIONS } from './sql-suite.js';

const hex = (alg: string, s: string) => createHash(alg).update(s).digest('hex');

/** Users in every 4.x hash form (each one logs in on the listener configured with its form). */
function userRows(): string {
  const pb = pbkdf2Sync('pbkdf2-pw', 'salt5', 1000, 20, 'sha256').toString('hex');
  const bc = bcrypt.hashSync('bcrypt-pw', 5);
  const rows = [
    ['alice', hex('sha256', 'alice-pw'), ''],
    ['dashboard', hex('sha256', 'dash-pw'), ''],
    ['admin4', hex('sha256', 'admin-pw'), ''],
    ['u_prefix', hex('sha256', 'salt1prefix-pw'), 'salt1'],
    ['u_suffix', hex('sha256', 'suffix-pwsalt2'), 'salt2'],
    ['u_md5', hex('md5', 'md5-pw'), ''],
    ['u_sha', hex('sha1', 'sha-pw'), ''],
    ['u_plain', 'plain-pw', ''],
    ['u_pbkdf2', pb, 'salt5'],
    ['u_bcrypt', bc, ''],
  ];
  const values = rows.map(([u, p, s]) => `('${u}', '${p}', '${s}')`).join(', ');
  // Rows of our own after the documented ones: a clientid row, and %u inside a topic.
  return `
    INSERT INTO mqtt_user (username, password, salt) VALUES ${values};
    UPDATE mqtt_user SET is_superuser = (1 = 1) WHERE username = 'admin4';
    INSERT INTO mqtt_acl (id, allow, ipaddr, username, clientid, access, topic) VALUES
      (8, 0, NULL, NULL, 'c-blocked', 1, 'x/#'),
      (9, 1, NULL, 'alice', NULL, 1, 'user/%u/#'),
      (10, 0, NULL, '$all', NULL, 1, 'user/#');
  `;
}

/** The 4.x hash string of each listener, and the user and password that log in there. */
const HASH_FORMS: Array<[string, string, string, string]> = [
  ['prefix', 'salt sha256', 'u_prefix', 'prefix-pw'],
  ['suffix', 'sha256 salt', 'u_suffix', 'suffix-pw'],
  ['md5', 'md5', 'u_md5', 'md5-pw'],
  ['sha', 'sha', 'u_sha', 'sha-pw'],
  ['plain', 'plain', 'u_plain', 'plain-pw'],
  ['pbkdf2', 'pbkdf2,sha256,1000,20', 'u_pbkdf2', 'pbkdf2-pw'],
  ['bcrypt', 'bcrypt', 'u_bcrypt', 'bcrypt-pw'],
];

interface Backend {
  name: 'mysql' | 'postgresql';
  start(): Promise<{ server: ServerProcess; conn: Record<string, unknown> }>;
}

const backends: Backend[] = [
  {
    name: 'mysql',
    async start() {
      const s = await startMariadb();
      s.sql(`${MYSQL_SEED}\n${userRows()}`);
      const conn = {
        server: `127.0.0.1:${s.port}`,
        database: MY_DATABASE,
        username: MY_USER,
        password: MY_PASSWORD,
      };
      return { server: s, conn };
    },
  },
  {
    name: 'postgresql',
    async start() {
      const s = await startPostgres();
      try {
        await seedPostgres(s.port, `${PG_SEED}\n${userRows()}`);
      } catch (err) {
        await s.stop();
        throw err;
      }
      const conn = {
        server: `127.0.0.1:${s.port}`,
        database: PG_DATABASE,
        username: PG_USER,
        password: PG_PASSWORD,
      };
      return { server: s, conn };
    },
  },
];

for (const backend of backends) {
  describe(`${backend.name}: EMQX 4.x mqtt_user / mqtt_acl tables and queries`, () => {
    let server: ServerProcess;
    let b: TestBroker;

    before(async () => {
      const started = await backend.start();
      server = started.server;
      const conn = { ...started.conn, query_timeout: '2s', connect_timeout: '2s' };
      const authn = (query: string, hash: string, extra: Record<string, unknown> = {}) => [
        {
          mechanism: 'password_based',
          backend: backend.name,
          ...conn,
          query,
          password_hash_algorithm: hash,
          ...extra,
        },
      ];
      const listeners: Record<string, unknown> = {};
      for (const [name, hash] of HASH_FORMS) {
        listeners[name] = {
          bind: '127.0.0.1:0',
          authentication: authn("select password, salt from mqtt_user where username = '%u' limit 1", hash),
        };
      }
      b = await startBroker({
        config: {
          // 4.x's default queries, pasted as they are.
          authentication: authn("select password from mqtt_user where username = '%u' limit 1", 'sha256', {
            super_query: "select is_superuser from mqtt_user where username = '%u' limit 1",
          }),
          listeners: { tcp: listeners },
          authorization: {
            no_match: 'allow',
            sources: [
              {
                type: backend.name,
                ...conn,
                query:
                  "select allow, ipaddr, username, clientid, access, topic from mqtt_acl where ipaddr = '%a' or username = '%u' or username = '$all' or clientid = '%c'",
              },
            ],
          },
        },
      });
    });
    after(async () => {
      await b?.stop();
      await server?.stop();
    });

    it('authenticates with the default auth_query and sha256', async () => {
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'wrong' }), RC.BAD_USER);
    });

    it('reads every 4.x password_hash form', async () => {
      for (const [listener, hash, user, password] of HASH_FORMS) {
        const port = b.node.port(`tcp:${listener}`);
        assert.equal(await loginCode(port, { username: user, password }), RC.OK, `${hash} accepts`);
        assert.equal(
          await loginCode(port, { username: user, password: 'nope' }),
          RC.BAD_USER,
          `${hash} refuses`,
        );
      }
    });

    it('binds %u: an injection attempt fails as through ${username}', async () => {
      for (const username of INJECTIONS) {
        assert.notEqual(await loginCode(b.port, { username, password: 'alice-pw' }), RC.OK, username);
        assert.notEqual(await loginCode(b.port, { username, password: "' OR '1'='1" }), RC.OK, username);
      }
      // The table is still there and alice still logs in.
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    });

    it("applies the documented ACL rows with 4.x's rules", async () => {
      const c = await connectClient(b.port, { clientId: 'a1', username: 'alice', password: 'alice-pw' });
      // Row 1: everyone may publish anywhere.
      await publish(c, 'any/topic', 'x', { qos: 1 });
      // Row 2: nobody subscribes to $SYS/#; row 3: nobody subscribes to the exact filter '#'.
      await assert.rejects(subscribe(c, '$SYS/#', { qos: 0 }), /Subscribe error/);
      await assert.rejects(subscribe(c, '#', { qos: 0 }), /Subscribe error/);
      // 'eq #' is exact: other filters do not match row 3 and fall to no_match (allow).
      await subscribe(c, 'a/#', { qos: 0 });
      // Row 9 before row 10: alice's own subtree through %u, nobody else's.
      await subscribe(c, 'user/alice/x', { qos: 0 });
      await assert.rejects(subscribe(c, 'user/bob/x', { qos: 0 }), /Subscribe error/);
      await end(c);
      // Row 2 comes before row 7: in 4.x the dashboard user is denied $SYS/# too.
      const d = await connectClient(b.port, { clientId: 'd1', username: 'dashboard', password: 'dash-pw' });
      await assert.rejects(subscribe(d, '$SYS/brokers', { qos: 0 }), /Subscribe error/);
      await end(d);
      // super_query: a superuser passes every ACL row.
      const a = await connectClient(b.port, { clientId: 's1', username: 'admin4', password: 'admin-pw' });
      await subscribe(a, '$SYS/brokers', { qos: 0 });
      await subscribe(a, '#', { qos: 0 });
      await end(a);
      // Row 8 names a clientid.
      const x = await connectClient(b.port, {
        clientId: 'c-blocked',
        username: 'alice',
        password: 'alice-pw',
      });
      await assert.rejects(subscribe(x, 'x/1', { qos: 0 }), /Subscribe error/);
      await subscribe(x, 'y/1', { qos: 0 });
      await end(x);
    });
  });
}
