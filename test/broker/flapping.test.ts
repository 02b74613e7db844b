import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loginCode, RC } from '../access/helpers.js';
import { startStompBroker } from '../gateway/helpers.js';
import { StompRaw } from '../gateway/stomp-client.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { captureLogs } from '../helpers/log-capture.js';
import { adminClient } from '../mgmt/http.js';

const BANNED = 0x8a;
const FLAPPING = { enable: true, max_count: 3, window_time: '1m', ban_time: '5m' };

describe('flapping detection', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  it('bans a client id that connects and disconnects max_count times within window_time', async () => {
    b = await startBroker({ config: { flapping_detect: FLAPPING } });
    const logs = captureLogs('warn');
    try {
      for (let i = 0; i < 3; i++) assert.equal(await loginCode(b.port, { clientId: 'flappy' }), RC.OK);
      // The third disconnect is seen once the broker has closed the connection.
      await until(() => b!.node.mgmt!.ctx.banned.get('clientid', 'flappy') !== undefined);
    } finally {
      logs.restore();
    }
    assert.equal(await loginCode(b.port, { clientId: 'flappy' }), BANNED);
    assert.equal(await loginCode(b.port, { clientId: 'flappy', version: 4 }), 5);
    assert.equal(await loginCode(b.port, { clientId: 'steady' }), RC.OK, 'others are not affected');
    const ban = b.node.mgmt!.ctx.banned.get('clientid', 'flappy')!;
    assert.equal(ban.by, 'flapping detector');
    const minutes = (ban.until! - ban.at) / 60_000;
    assert.ok(minutes > 4.9 && minutes <= 5, `ban_time 5m, got ${minutes} min`);
    const line = logs.matching('flapping detected')[0];
    assert.equal(line?.clientid, 'flappy');
  });

  it('bans the source address after max_count wrong passwords, whatever the client ids', async () => {
    b = await startBroker({
      config: {
        flapping_detect: FLAPPING,
        authentication: [{ mechanism: 'password_based', backend: 'built_in_database' }],
      },
    });
    const users = b.node.authn.users('mqtt:global', 'password_based:built_in_database')!;
    await users.add({ user_id: 'alice', password: 'wonderland' });
    for (let i = 0; i < 3; i++)
      assert.equal(await loginCode(b.port, { username: 'alice', password: `guess${i}` }), RC.BAD_USER);
    assert.ok(b.node.mgmt!.ctx.banned.get('peerhost', '127.0.0.1'));
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'wonderland' }), BANNED);
  });

  it('is off by default, as in EMQX', async () => {
    b = await startBroker();
    for (let i = 0; i < 16; i++) assert.equal(await loginCode(b.port, { clientId: 'flappy' }), RC.OK);
    assert.equal(b.node.mgmt!.ctx.banned.list().length, 0);
  });

  it('can be switched on at runtime through the config API', async () => {
    b = await startBroker({ api: true });
    const admin = await adminClient(b);
    const put = await admin.put('/configs/flapping_detect', FLAPPING);
    assert.equal(put.status, 200, put.text);
    for (let i = 0; i < 3; i++) await loginCode(b.port, { clientId: 'late' });
    await until(() => b!.node.mgmt!.ctx.banned.get('clientid', 'late') !== undefined);
    const off = await admin.put('/configs/flapping_detect', { ...FLAPPING, enable: false });
    assert.equal(off.status, 200, off.text);
    for (let i = 0; i < 3; i++) await loginCode(b.port, { clientId: 'later' });
    assert.equal(b.node.mgmt!.ctx.banned.get('clientid', 'later'), undefined);
  });

  it('bans a STOMP source address that keeps failing to log in, for every protocol', async () => {
    const s = await startStompBroker({ api: true, config: { flapping_detect: FLAPPING } });
    b = s;
    const api = await adminClient(s);
    const authn = { mechanism: 'password_based', backend: 'built_in_database', user_id_type: 'username' };
    assert.equal((await api.post('/gateways/stomp/authentication', authn)).status, 201);
    await api.post('/gateways/stomp/authentication/users', { user_id: 'guest', password: 'guest-pw' });
    for (let i = 0; i < 3; i++) {
      const c = await StompRaw.open(s.stompPort);
      c.send('CONNECT', { 'accept-version': '1.2', login: 'guest', passcode: `guess${i}` });
      assert.equal((await c.next()).command, 'ERROR');
      c.destroy();
    }
    assert.ok(s.node.mgmt!.ctx.banned.get('peerhost', '127.0.0.1'));
    await assert.rejects(StompRaw.login(s.stompPort, { login: 'guest', passcode: 'guest-pw' }));
    assert.equal(await loginCode(s.port, {}), BANNED);
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
