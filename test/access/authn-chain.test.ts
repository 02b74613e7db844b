import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { login, loginCode, RC } from './helpers.js';

const BUILTIN = 'password_based:built_in_database';
const builtin = (over: Record<string, unknown> = {}) => ({
  mechanism: 'password_based',
  backend: 'built_in_database',
  ...over,
});

describe('authentication chain: built_in_database over MQTT', () => {
  let b: TestBroker;
  const dir = mkdtempSync(join(tmpdir(), 'hermod-authn-'));
  const bootstrap = join(dir, 'bootstrap.csv');

  before(async () => {
    writeFileSync(bootstrap, 'user_id,password,is_superuser\nboot,bootpw,false\nroot,rootpw,true\n');
    b = await startBroker({
      config: {
        authentication: [builtin({ bootstrap_file: bootstrap })],
        authorization: { no_match: 'deny', sources: [] },
      },
    });
    const users = b.node.authn.users('mqtt:global', BUILTIN)!;
    await users.add({ user_id: 'alice', password: 'wonderland' });
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a known user in and refuses a wrong password (v5 0x86, v3.1.1 return code 4)', async () => {
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'wonderland' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'nope' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'nope', version: 4 }), 4);
    assert.equal(await loginCode(b.port, { username: 'alice' }), RC.BAD_USER, 'no password');
  });

  it('refuses an unknown user when every authenticator ignores (0x87)', async () => {
    assert.equal(await loginCode(b.port, { username: 'mallory', password: 'x' }), RC.NOT_AUTHORIZED);
    assert.equal(await loginCode(b.port, {}), RC.NOT_AUTHORIZED, 'anonymous');
  });

  it('loads the bootstrap file and gives is_superuser, which bypasses authorization', async () => {
    assert.equal(await loginCode(b.port, { username: 'boot', password: 'bootpw' }), RC.OK);
    const root = await connectClient(b.port, { username: 'root', password: 'rootpw', protocolVersion: 5 });
    const granted = await subscribe(root, 'any/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1, 'superuser passes no_match = deny');
    await end(root);
    const plain = await connectClient(b.port, { username: 'boot', password: 'bootpw', protocolVersion: 5 });
    await assert.rejects(
      subscribe(plain, 'any/#', { qos: 1 }),
      /Not authorized/,
      'ordinary user meets no_match = deny',
    );
    await end(plain);
  });

  it('refuses oversize and non-UTF-8 credentials cleanly, without a crash', async () => {
    assert.equal(
      await loginCode(b.port, { username: 'alice', password: Buffer.alloc(60_000, 0x61) }),
      RC.BAD_USER,
    );
    assert.equal(
      await loginCode(b.port, { username: 'alice', password: Buffer.from([0xff, 0xfe, 0x00, 0xc3]) }),
      RC.BAD_USER,
    );
    assert.equal(
      await loginCode(b.port, { username: 'alice', password: 'wonderland' }),
      RC.OK,
      'still serving',
    );
  });

  it('manages users: update, superuser flag, list with filters, delete, import CSV and JSON', async () => {
    const users = b.node.authn.users('mqtt:global', BUILTIN)!;
    await assert.rejects(users.add({ user_id: 'alice', password: 'x' }), /already exists/);
    await users.update('alice', { password: 'looking-glass' });
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'wonderland' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'looking-glass' }), RC.OK);
    assert.deepEqual(
      users.list({ like_user_id: 'oo' }).map((u) => u.user_id),
      ['boot', 'root'],
    );
    assert.deepEqual(
      users.list({ is_superuser: true }).map((u) => u.user_id),
      ['root'],
    );
    const { parseUsersFile } = await import('../../src/access/authn/builtin/import.js');
    const plain = await users.import(
      'plain',
      parseUsersFile(
        'user_id,password,is_superuser\ncsv1,p1,false\n"csv,2",p2,true\nalice,new,false\n,x,false\n',
        'u.csv',
      ),
    );
    assert.deepEqual(plain, { total: 4, success: 2, override: 1, skipped: 0, failed: 1 });
    assert.equal(await loginCode(b.port, { username: 'csv,2', password: 'p2' }), RC.OK);
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update('saltp3').digest('hex');
    const hashed = await users.import(
      'hash',
      parseUsersFile(
        JSON.stringify([{ user_id: 'json1', password_hash: hash, salt: 'salt', is_superuser: false }]),
        'u.json',
      ),
    );
    assert.equal(hashed.success, 1);
    assert.equal(await loginCode(b.port, { username: 'json1', password: 'p3' }), RC.OK);
    assert.equal(users.delete('json1'), true);
    assert.equal(await loginCode(b.port, { username: 'json1', password: 'p3' }), RC.NOT_AUTHORIZED);
  });

  it('applies every change to a user at the next login, also right after that user logged in', async () => {
    const users = b.node.authn.users('mqtt:global', BUILTIN)!;
    await users.add({ user_id: 'dora', password: 'd1' });
    const mayRead = async (password: string) => {
      const c = await connectClient(b.port, { username: 'dora', password, protocolVersion: 5 });
      try {
        return (await subscribe(c, 'any/#', { qos: 1 }))[0]?.qos === 1;
      } catch {
        return false;
      } finally {
        await end(c);
      }
    };
    assert.equal(await mayRead('d1'), false, 'an ordinary user meets no_match = deny');
    await users.update('dora', { is_superuser: true });
    assert.equal(await mayRead('d1'), true, 'superuser from the next login on');
    await users.update('dora', { is_superuser: false });
    assert.equal(await mayRead('d1'), false, 'and no longer');
    const { parseUsersFile } = await import('../../src/access/authn/builtin/import.js');
    await users.import('plain', parseUsersFile('user_id,password,is_superuser\ndora,d2,false\n', 'u.csv'));
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd1' }), RC.BAD_USER, 'imported over');
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd2' }), RC.OK);
    // A config change replaces the authenticator; its users (and what logins remember of them) carry over.
    await b.node.authn.setChain('mqtt:global', [
      builtin({ bootstrap_file: bootstrap, bootstrap_type: 'plain' }),
    ]);
    const replaced = b.node.authn.users('mqtt:global', BUILTIN)!;
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd2' }), RC.OK);
    await replaced.update('dora', { password: 'd3' });
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd2' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd3' }), RC.OK);
    assert.equal(replaced.delete('dora'), true);
    assert.equal(await loginCode(b.port, { username: 'dora', password: 'd3' }), RC.NOT_AUTHORIZED, 'deleted');
  });

  it('counts per-authenticator metrics', async () => {
    const s = await b.node.authn.status('mqtt:global', BUILTIN);
    assert.equal(s?.status, 'connected');
    const m = s!.metrics;
    assert.ok(m.total >= m.success + m.failed + m.nomatch - 0);
    assert.ok(m.success > 0 && m.failed > 0 && m.nomatch > 0, JSON.stringify(m));
  });
});

describe('authentication chain semantics', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: {
        authentication: [
          builtin({ enable: false }),
          { mechanism: 'password_based', backend: 'http', url: 'http://127.0.0.1:1/never', enable: false },
        ],
        listeners: {
          tcp: {
            own: {
              bind: '127.0.0.1:0',
              authentication: [
                builtin({ user_id_type: 'clientid', password_hash_algorithm: { name: 'bcrypt' } }),
              ],
            },
            open: { bind: '127.0.0.1:0', enable_authn: false },
            quick: { bind: '127.0.0.1:0', enable_authn: 'quick_deny_anonymous' },
          },
        },
      },
    });
  });
  after(() => b.stop());

  it('lets everyone in when the chain has no enabled authenticator', async () => {
    assert.equal(await loginCode(b.port, { username: 'whoever', password: 'x' }), RC.OK);
    assert.equal(await loginCode(b.port, {}), RC.OK);
  });

  it("uses a listener's own chain instead of the global one (bcrypt, clientid as user id)", async () => {
    const own = b.node.port('tcp:own');
    const users = b.node.authn.users('tcp:own', BUILTIN)!;
    await users.add({ user_id: 'dev-7', password: 'pw7' });
    assert.equal(await loginCode(own, { clientId: 'dev-7', username: 'ignored', password: 'pw7' }), RC.OK);
    assert.equal(await loginCode(own, { clientId: 'dev-7', username: 'u', password: 'bad' }), RC.BAD_USER);
    assert.equal(
      await loginCode(own, { clientId: 'dev-8', username: 'u', password: 'pw7' }),
      RC.NOT_AUTHORIZED,
    );
    assert.equal(
      b.node.authn.users('mqtt:global', BUILTIN)?.get('dev-7'),
      undefined,
      'users belong to their chain',
    );
  });

  it('honours enable_authn = false and quick_deny_anonymous', async () => {
    await b.node.authn.setChain('mqtt:global', [builtin()]);
    assert.equal(await loginCode(b.port, { username: 'x', password: 'y' }), RC.NOT_AUTHORIZED);
    assert.equal(await loginCode(b.node.port('tcp:open'), { username: 'x', password: 'y' }), RC.OK);
    assert.equal(await loginCode(b.node.port('tcp:quick'), {}), RC.NOT_AUTHORIZED);
    assert.equal(
      await loginCode(b.node.port('tcp:quick'), { username: 'x', password: 'y' }),
      RC.NOT_AUTHORIZED,
      'then the chain',
    );
  });

  it('moves on to the next authenticator on ignore, and the first answer wins', async () => {
    await b.node.authn.setChain('mqtt:global', [
      builtin(),
      { mechanism: 'scram', backend: 'built_in_database' },
    ]);
    const users = b.node.authn.users('mqtt:global', BUILTIN)!;
    await users.add({ user_id: 'carol', password: 'c' });
    assert.equal(await loginCode(b.port, { username: 'carol', password: 'c' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'carol', password: 'd' }), RC.BAD_USER);
    // scram ignores password logins, built-in ignores enhanced auth: nobody takes it → refused.
    const { code } = await login(b.port, {
      username: 'carol',
      props: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    assert.equal(code, RC.NOT_AUTHORIZED);
  });

  it('rejects invalid authenticator configs without changing the chain', async () => {
    const before = b.node.authn.chain('mqtt:global');
    await assert.rejects(
      b.node.authn.setChain('mqtt:global', [{ mechanism: 'password_based', backend: 'nosuch' }]),
      /unsupported/,
    );
    await assert.rejects(
      b.node.authn.setChain('mqtt:global', [builtin({ user_id_type: 'ip' })]),
      /user_id_type/,
    );
    await assert.rejects(b.node.authn.setChain('mqtt:global', [builtin(), builtin()]), /twice/);
    await assert.rejects(
      b.node.authn.setChain('mqtt:global', [{ mechanism: 'password_based', backend: 'redis', cmd: 'GET k' }]),
      /unsupported redis command/,
    );
    assert.deepEqual(b.node.authn.chain('mqtt:global'), before);
  });

  it('applies a runtime change of the authentication config and of a listener chain', async () => {
    await b.node.configService.update('authentication', []);
    assert.equal(await loginCode(b.port, { username: 'x', password: 'y' }), RC.OK);
    assert.equal(b.node.authn.chain('mqtt:global'), undefined);
    const raw = b.node.configService.getRaw('listeners') as { tcp: Record<string, Record<string, unknown>> };
    raw.tcp.own!.authentication = [];
    await b.node.configService.update('listeners', raw);
    await sleep(50);
    assert.equal(b.node.authn.chain('tcp:own'), undefined);
    const c = await connectClient(b.node.port('tcp:own'), { clientId: 'anyone' });
    await publish(c, 't', 'x');
    await end(c);
  });
});
