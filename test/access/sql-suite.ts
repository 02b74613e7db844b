/**
 * The tests both SQL backends share (PostgreSQL, MariaDB): authentication from a users table, rules from
 * an ACL table, placeholders as bound parameters (injection attempts), a backend that goes away and comes
 * back. Each backend's test file starts its own server and calls sqlSuite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, subscribe } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { loginCode, loginEventually, RC } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const INJECTIONS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  "alice' --",
  '" OR ""="',
  'alice; DROP TABLE mqtt_user; --',
];

export interface SqlBackend {
  name: 'mysql' | 'postgresql';
  /** Starts the server with tables mqtt_user and mqtt_acl (see seedRows). */
  start(): Promise<ServerProcess>;
  /** Runs SQL statements against the seeded database. */
  exec(s: ServerProcess, sql: string): Promise<void>;
  connection(s: ServerProcess): Record<string, unknown>;
}

/** Rows every backend seeds (SQL common to PostgreSQL and MariaDB). */
export function seedRows(): string {
  const bc = bcrypt.hashSync('bcrypt-pw', 5);
  return `
    INSERT INTO mqtt_user (username, password_hash, salt, is_superuser) VALUES
      ('alice', '${sha('salt1alice-pw')}', 'salt1', 0),
      ('root', '${sha('salt2root-pw')}', 'salt2', 1),
      ('strsuper', '${sha('salt3pw')}', 'salt3', 'true'),
      ('notsuper', '${sha('salt4pw')}', 'salt4', 'yes'),
      ('crypto', '${bc}', '', 0);
    INSERT INTO mqtt_acl (username, permission, action, topic, qos, retain) VALUES
      ('alice', 'allow', 'subscribe', 'alice/#', NULL, NULL),
      ('alice', 'deny', 'all', 'alice/secret', NULL, NULL),
      ('alice', 'allow', 'publish', 'up/\${username}', '0,1', '0');
  `;
}

export function sqlSuite(backend: SqlBackend): void {
  describe(`${backend.name}: authentication and authorization against a real server`, () => {
    let server: ServerProcess;
    let b: TestBroker;

    before(async () => {
      server = await backend.start();
      const conn = backend.connection(server);
      b = await startBroker({
        config: {
          authentication: [
            {
              mechanism: 'password_based',
              backend: backend.name,
              ...conn,
              query:
                'SELECT password_hash, salt, is_superuser FROM mqtt_user WHERE username = ${username} LIMIT 1',
              query_timeout: '2s',
              connect_timeout: '2s',
            },
          ],
          listeners: {
            tcp: {
              badsql: {
                bind: '127.0.0.1:0',
                authentication: [
                  {
                    mechanism: 'password_based',
                    backend: backend.name,
                    ...conn,
                    query:
                      'SELECT nope FROM missing_table WHERE username = ${username} AND x = ${no_such_placeholder}',
                  },
                ],
              },
              bcrypt: {
                bind: '127.0.0.1:0',
                authentication: [
                  {
                    mechanism: 'password_based',
                    backend: backend.name,
                    ...conn,
                    // A quoted placeholder is bound all the same.
                    query: "SELECT password_hash FROM mqtt_user WHERE username = '${username}'",
                    password_hash_algorithm: { name: 'bcrypt' },
                  },
                ],
              },
            },
          },
          authorization: {
            no_match: 'deny',
            sources: [
              {
                type: backend.name,
                ...conn,
                query:
                  'SELECT permission, action, topic, qos, retain FROM mqtt_acl WHERE username = ${username} ORDER BY id',
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

    it('authenticates from the users table, with is_superuser coercion and bcrypt rows', async () => {
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'wrong' }), RC.BAD_USER);
      assert.equal(await loginCode(b.port, { username: 'nobody', password: 'x' }), RC.NOT_AUTHORIZED);
      assert.equal(
        await loginCode(b.node.port('tcp:bcrypt'), { username: 'crypto', password: 'bcrypt-pw' }),
        RC.OK,
      );
      assert.equal(
        await loginCode(b.node.port('tcp:bcrypt'), { username: 'crypto', password: 'nope' }),
        RC.BAD_USER,
      );
      for (const [user, pw, superuser] of [
        ['root', 'root-pw', true],
        ['strsuper', 'pw', true],
        ['notsuper', 'pw', false],
      ] as const) {
        const c = await connectClient(b.port, { username: user, password: pw, protocolVersion: 5 });
        const r = subscribe(c, 'anything/at/all', { qos: 0 });
        if (superuser) assert.equal((await r)[0]?.qos, 0, user);
        else await assert.rejects(r, /Not authorized/, user);
        await end(c);
      }
    });

    it('refuses cleanly when the configured SQL is broken (the query error is logged, the chain ignores)', async () => {
      assert.equal(
        await loginCode(b.node.port('tcp:badsql'), { username: 'alice', password: 'alice-pw' }),
        RC.NOT_AUTHORIZED,
      );
      assert.equal(
        await loginCode(b.port, { username: 'alice', password: 'alice-pw' }),
        RC.OK,
        'the node keeps serving',
      );
    });

    it('cannot be tricked by SQL in the username (bound parameters)', async () => {
      for (const u of INJECTIONS) {
        assert.equal(await loginCode(b.port, { username: u, password: 'alice-pw' }), RC.NOT_AUTHORIZED, u);
        assert.equal(
          await loginCode(b.node.port('tcp:bcrypt'), { username: u, password: 'bcrypt-pw' }),
          RC.NOT_AUTHORIZED,
          u,
        );
      }
      // The table is still there.
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    });

    it('authorizes from ACL rows in order, with placeholders, qos and retain conditions', async () => {
      const c = await connectClient(b.port, { username: 'alice', password: 'alice-pw', protocolVersion: 5 });
      assert.equal((await subscribe(c, 'alice/x', { qos: 1 }))[0]?.qos, 1);
      assert.equal(
        (await subscribe(c, 'alice/secret', { qos: 1 }))[0]?.qos,
        1,
        'the earlier allow row wins for subscribe',
      );
      await assert.rejects(subscribe(c, 'bob/x', { qos: 0 }), /Not authorized/);
      const pubOk = await new Promise<number | undefined>((r) =>
        c.publish('up/alice', 'x', { qos: 1 }, (err, p) =>
          r(err ? 135 : ((p as { reasonCode?: number })?.reasonCode ?? 0)),
        ),
      );
      assert.equal(pubOk, 0);
      const pubQos2 = await new Promise<number | undefined>((r) =>
        c.publish('up/alice', 'x', { qos: 2 }, (err) => r(err ? 135 : 0)),
      );
      assert.equal(pubQos2, 135, 'qos 2 is not in the row');
      const pubRetain = await new Promise<number | undefined>((r) =>
        c.publish('up/alice', 'x', { qos: 1, retain: true }, (err) => r(err ? 135 : 0)),
      );
      assert.equal(pubRetain, 135, 'retain not allowed by the row');
      await end(c);
    });

    it('does not widen ACL rules for an injected username', async () => {
      await backend.exec(
        server,
        `INSERT INTO mqtt_user (username, password_hash, salt, is_superuser) VALUES ('${"' OR 1=1 --".replace(/'/g, "''")}', '${sha('s9pw')}', 's9', 0)`,
      );
      const d = await connectClient(b.port, { username: "' OR 1=1 --", password: 'pw', protocolVersion: 5 });
      await assert.rejects(
        subscribe(d, 'alice/x', { qos: 0 }),
        /Not authorized/,
        "alice's rows are not returned",
      );
      await end(d);
    });

    it('treats a dead backend as ignore after its timeout, reports disconnected, and reconnects', async () => {
      await server.kill();
      const t0 = Date.now();
      assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.NOT_AUTHORIZED);
      assert.ok(Date.now() - t0 < 30_000);
      assert.equal(
        (await b.node.authn.status('mqtt:global', `password_based:${backend.name}`))?.status,
        'disconnected',
      );
      assert.equal((await b.node.authz.status(backend.name))?.status, 'disconnected');
      server = await server.restart();
      assert.equal(await loginEventually(b.port, { username: 'alice', password: 'alice-pw' }, RC.OK), RC.OK);
      assert.equal(
        (await b.node.authn.status('mqtt:global', `password_based:${backend.name}`))?.status,
        'connected',
      );
    });
  });
}
