/** `hermod ctl users add|passwd|del|list`: EMQX 3.x/4.x's `emqx_ctl users` on the built-in database. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { loginCode, RC } from './helpers.js';

describe('hermod ctl users', () => {
  let b: TestBroker;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', b.dataDir!, ...args]);
  before(async () => {
    b = await startBroker({
      api: true,
      tempDataDir: true,
      config: { authentication: [{ mechanism: 'password_based', backend: 'built_in_database' }] },
    });
  });
  after(() => b.stop());

  it('adds, lists, changes the password of and deletes a user that then logs in or not', async () => {
    const add = await ctl('users', 'add', 'dev1', 'pw-1');
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout.trim(), 'ok');
    assert.equal(await loginCode(b.port, { username: 'dev1', password: 'pw-1' }), RC.OK);
    const list = await ctl('users', 'list');
    assert.deepEqual(list.stdout.trim().split('\n'), ['dev1']);
    assert.equal((await ctl('users', 'passwd', 'dev1', 'pw-2')).code, 0);
    assert.equal(await loginCode(b.port, { username: 'dev1', password: 'pw-1' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'dev1', password: 'pw-2' }), RC.OK);
    assert.equal((await ctl('users', 'del', 'dev1')).code, 0);
    assert.notEqual(await loginCode(b.port, { username: 'dev1', password: 'pw-2' }), RC.OK);
    assert.equal((await ctl('users', 'list')).stdout.trim(), '');
  });

  it('prints the usage for bad arguments and fails for an unknown user', async () => {
    const bad = await ctl('users', 'add', 'only-name');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /users add <Username> <Password>/);
    assert.notEqual((await ctl('users', 'del', 'nobody')).code, 0);
  });
});
