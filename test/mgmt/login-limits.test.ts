import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { captureLogs } from '../helpers/log-capture.js';
import { ApiClient, adminClient } from './http.js';

describe('management API: login limits and the default password', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  async function login(c: ApiClient, username: string, password: string) {
    return c.post('/login', { username, password }, { auth: null });
  }

  it('locks a username after 5 wrong passwords with 429 TOO_MANY_REQUESTS, even for the right one', async () => {
    b = await startBroker({ api: true });
    const admin = await adminClient(b);
    await admin.post('/users', { username: 'ops', password: 'ops-pass-1', role: 'viewer' });
    const anon = new ApiClient(b.apiUrl!);
    for (let i = 0; i < 5; i++) assert.equal((await login(anon, 'ops', `wrong-${i}`)).status, 401);
    const locked = await login(anon, 'ops', 'ops-pass-1');
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'TOO_MANY_REQUESTS');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // Other users from the same address are not affected.
    assert.equal((await login(anon, 'admin', 'public')).status, 200);
  });

  it('locks a source address that sprays wrong logins over many usernames', async () => {
    b = await startBroker({ api: true });
    const anon = new ApiClient(b.apiUrl!);
    for (let i = 0; i < 20; i++) assert.equal((await login(anon, `ghost${i}`, 'public')).status, 401);
    const r = await login(anon, 'admin', 'public');
    assert.equal(r.status, 429);
    assert.equal(r.body.code, 'TOO_MANY_REQUESTS');
    assert.match(r.body.message, /address/);
  });

  it('a parallel burst of guesses gets no more tries than the limits allow', async () => {
    b = await startBroker({ api: true });
    const anon = new ApiClient(b.apiUrl!);
    const user = await Promise.all(Array.from({ length: 12 }, (_, i) => login(anon, 'admin', `guess-${i}`)));
    assert.equal(user.filter((r) => r.status === 401).length, 5);
    assert.equal(user.filter((r) => r.status === 429).length, 7);
    const spray = await Promise.all(Array.from({ length: 30 }, (_, i) => login(anon, `ghost${i}`, 'guess')));
    // 5 of the source's 20 went to admin above.
    assert.equal(spray.filter((r) => r.status === 401).length, 15);
    assert.equal(spray.filter((r) => r.status === 429).length, 15);
  });

  it('an unknown username costs as much as a wrong password for a known one', async () => {
    b = await startBroker({ api: true });
    const admin = await adminClient(b);
    const anon = new ApiClient(b.apiUrl!);
    for (let i = 0; i < 5; i++) await admin.post('/users', { username: `u${i}`, password: 'pass-word-1' });
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, one wrong try per user, so neither limit is reached and load hits both alike.
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      assert.equal((await login(anon, `u${i}`, 'nope-nope')).status, 401);
      known.push(performance.now() - t);
      t = performance.now();
      assert.equal((await login(anon, `nobody${i}`, 'nope-nope')).status, 401);
      unknown.push(performance.now() - t);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Before: about 1/20 of the time (no hash at all). A hash each makes them comparable.
    assert.ok(
      median(unknown) > median(known) * 0.4,
      `unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`,
    );
  });

  it('warns at boot and flags the login while the default password is in use', async () => {
    const logs = captureLogs('warn');
    try {
      b = await startBroker({ api: true, tempDataDir: true });
    } finally {
      logs.restore();
    }
    assert.equal(logs.matching('default password').length, 1, JSON.stringify(logs.lines));
    const anon = new ApiClient(b.apiUrl!);
    const r = await login(anon, 'admin', 'public');
    assert.equal(r.status, 200);
    assert.equal(r.body.default_password_in_use, true);
    anon.auth = `Bearer ${r.body.token}`;
    await anon.post('/users/admin/change_pwd', { old_pwd: 'public', new_pwd: 'better-pw-1' });
    const after = await login(anon, 'admin', 'better-pw-1');
    assert.equal(after.status, 200);
    assert.equal(after.body.default_password_in_use, undefined);
    const dir = b.dataDir!;
    await b.node.stop();
    b = undefined;
    const logs2 = captureLogs('warn');
    try {
      b = await startBroker({ api: true, dataDir: dir });
    } finally {
      logs2.restore();
    }
    assert.equal(logs2.matching('default password').length, 0);
    await b.stop();
    b = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
});
