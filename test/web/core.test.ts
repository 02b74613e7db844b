/**
 * The core dashboard pages in a real browser against a live node: the Overview's live charts, finding and
 * kicking a real mqtt.js client, publishing from the WebSocket page to a real MQTT subscriber, banning and
 * unbanning, changing a password and logging in with it, and a screenshot of every page at 1280 and 390 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { type Dashboard, startDashboard } from './browser.js';

describe('dashboard core pages', () => {
  let d: Dashboard;
  let api: ApiClient;
  const clients: MqttClient[] = [];

  before(async () => {
    d = await startDashboard({ ws: true, config: { dashboard: { sample_interval: '1s' } } });
    api = await adminClient(d.broker);
    await d.login();
  });
  after(async () => {
    await Promise.all(clients.map((c) => end(c)));
    await d?.stop();
  });

  it('draws the overview charts and updates them live from the monitor API', async () => {
    await d.open('/overview');
    for (const chart of ['chart-connections', 'chart-routes', 'chart-rates'])
      await d.page.locator(`[data-test=${chart}] canvas`).first().waitFor();
    const live = d.page.locator('[data-test=stat-live_connections]');
    assert.equal((await live.innerText()).trim(), '0');
    const c = await connectClient(d.broker.port, { clientId: 'overview-client' });
    clients.push(c);
    await subscribe(c, 'overview/#');
    // The page polls /monitor_current every 5 s: the new client shows up without a reload.
    await d.page.waitForFunction(
      () => document.querySelector('[data-test=stat-live_connections]')?.textContent?.trim() === '1',
      undefined,
      { timeout: 20_000 },
    );
    assert.equal((await d.page.locator('[data-test=stat-subscriptions]').innerText()).trim(), '1');
    await d.screenshots('overview');
    d.assertNoConsoleErrors();
  });

  it('finds a real mqtt.js client by id, shows its subscriptions, and kicks it out', async () => {
    const victim = await connectClient(d.broker.port, { clientId: 'kick-me-please' });
    await subscribe(victim, 'kick/topic', { qos: 1 });
    const closed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
    await d.open('/clients');
    await d.page.locator('[data-test=filter-clientid]').fill('kick-me');
    await d.page.locator('[data-test=search]').click();
    await d.page.waitForURL(/\/clients\?like_clientid=kick-me$/);
    const link = d.page.getByRole('link', { name: 'kick-me-please' });
    await link.waitFor();
    assert.equal(await d.page.getByRole('link', { name: 'overview-client' }).count(), 0, 'filtered out');
    await d.screenshots('clients');

    await link.click();
    await d.page.waitForURL(/\/clients\/kick-me-please$/);
    await d.page.locator('[data-test=client-subscriptions]').getByText('kick/topic').waitFor();
    await d.screenshots('client-detail');
    await d.page.locator('[data-test=kick]').click();
    assert.match(await d.confirm('Kick out'), /kick-me-please/);
    await closed;
    await d.page.waitForURL(/\/clients$/);
    const gone = await api.get('/clients/kick-me-please');
    assert.equal(gone.status, 404);
    d.assertNoConsoleErrors();
  });

  it('publishes from the WebSocket page to a real MQTT subscriber and receives its reply', async () => {
    const listener = await connectClient(d.broker.port, { clientId: 'ws-page-peer' });
    clients.push(listener);
    await subscribe(listener, 'web/+', { qos: 1 });
    const got = collect(listener);

    await d.open('/websocket');
    await d.page.locator('[data-test=ws-url]').fill(`ws://127.0.0.1:${d.broker.wsPort}/mqtt`);
    await d.page.locator('[data-test=ws-clientid]').fill('browser-client');
    await d.page.locator('[data-test=ws-connect]').click();
    await d.page.locator('[data-test=ws-state]').getByText('Connected', { exact: true }).waitFor();

    await d.page.locator('[data-test=ws-sub-topic]').fill('reply/#');
    await d.page.locator('[data-test=ws-subscribe]').click();
    await d.page.locator('[data-test=ws-subscriptions]').getByText('reply/#').waitFor();

    await d.page.locator('[data-test=ws-pub-topic]').fill('web/1');
    await d.page.locator('[data-test=ws-pub-payload]').fill('hello from the browser');
    await d.page.locator('[data-test=ws-publish]').click();
    const [m] = await got.next(1, 10_000);
    assert.equal(m!.topic, 'web/1');
    assert.equal(m!.payload.toString(), 'hello from the browser');

    await publish(listener, 'reply/1', 'hello back', { qos: 1 });
    await d.page.locator('[data-test=ws-received]').getByText('hello back').waitFor();
    const online = await api.get('/clients/browser-client');
    assert.equal(online.body.connected, true);
    await d.screenshots('websocket');
    await d.page.locator('[data-test=ws-disconnect]').click();
    await d.page.locator('[data-test=ws-state]').getByText('Disconnected').waitFor();
    d.assertNoConsoleErrors();
  });

  it('bans a client id from the Banned page, which keeps it out, and lifts the ban', async () => {
    await d.open('/banned');
    await d.page.locator('[data-test=add-ban]').click();
    await d.page.locator('[data-test=ban-who]').fill('bad-device');
    await d.page.locator('[data-test=ban-reason]').fill('testing the page');
    await d.page.locator('[data-test=ban-save]').click();
    await d.page.locator('.el-table').getByText('bad-device').waitFor();
    await assert.rejects(connectClient(d.broker.port, { clientId: 'bad-device' }), /[Bb]anned|refused|138/);
    await d.screenshots('banned');

    await d.page.locator('[data-test="unban-bad-device"]').click();
    await d.confirm('Delete');
    await d.page.locator('.el-table').getByText('bad-device').waitFor({ state: 'detached' });
    const list = await api.get('/banned');
    assert.equal(list.body.data.length, 0);
    const ok = await connectClient(d.broker.port, { clientId: 'bad-device' });
    await end(ok);
    d.assertNoConsoleErrors();
  });

  it('shows a failed API call as its {code, message} text', async () => {
    await d.open('/clients/no-such-client');
    const alert = d.page.locator('[data-test=load-error]').first();
    await alert.waitFor();
    assert.match(await alert.innerText(), /CLIENTID_NOT_FOUND: /);
    d.expectConsoleError(/404/);
    d.assertNoConsoleErrors();
  });

  it('renders every other page at both widths with its data', async () => {
    const c = await connectClient(d.broker.port, { clientId: 'page-tour' });
    clients.push(c);
    await subscribe(c, 'tour/+/state', { qos: 1 });
    await publish(c, 'tour/retained', 'kept', { qos: 1, retain: true });
    await api.post('/authentication', {
      mechanism: 'password_based',
      backend: 'built_in_database',
      user_id_type: 'username',
    });
    await api.post('/authentication/password_based%3Abuilt_in_database/users', {
      user_id: 'device-1',
      password: 'secret',
    });
    const pages: Array<[string, string, string]> = [
      ['subscriptions', '/subscriptions', 'tour/+/state'],
      ['topics', '/topics', 'tour/+/state'],
      ['retained', '/retained', 'tour/retained'],
      ['alarms', '/alarms', 'Active'],
      ['authentication', '/authentication', 'password_based:built_in_database'],
      ['authentication-users', '/authentication/password_based%3Abuilt_in_database/users', 'device-1'],
      ['authorization', '/authorization', 'Sources (checked in order)'],
      ['listeners', '/listeners', 'tcp:default'],
      ['settings', '/settings', 'max_packet_size'],
      ['settings-log', '/settings?tab=log', 'console'],
      ['api-keys', '/api-keys', 'API Keys'],
      ['users', '/users', 'admin'],
    ];
    // Authorization: add the built-in source and a deny rule from the page; a real client is refused by it.
    await d.open('/authorization');
    await d.page.locator('[data-test=add-builtin-source]').click();
    await d.page.locator('[data-test=add-rule]').click();
    await d.page.locator('[data-test=rule-who]').fill('device-1');
    await d.page.locator('[data-test=rule-topic]').fill('secret/#');
    await d.page.locator('[data-test=rule-save]').click();
    await d.page.locator('.el-table').getByText('deny all secret/#').waitFor();
    const device = await connectClient(d.broker.port, { username: 'device-1', password: 'secret' });
    await device.subscribeAsync('public/x');
    await assert.rejects(
      device.subscribeAsync('secret/x'),
      /Subscribe error/,
      'the rule from the page refuses it',
    );
    await end(device);

    for (const [name, path, text] of pages) {
      await d.open(path);
      await d.page.locator('#main').getByText(text, { exact: true }).first().waitFor();
      await d.screenshots(name);
    }
    await d.open('/settings');
    await d.page.getByLabel('max_clientid_len', { exact: true }).fill('4096');
    await d.page.locator('[data-test=settings-save]').click();
    await d.page.locator('.el-message--success').waitFor();
    assert.equal((await api.get('/configs/mqtt')).body.max_clientid_len, 4096);

    await d.open('/retained');
    await d.page.getByRole('button', { name: 'View' }).click();
    await d.page.locator('[data-test=retained-payload]').getByText('kept').waitFor();
    d.assertNoConsoleErrors();
  });

  it('creates an API key that works over HTTP Basic, and disables it with its switch', async () => {
    await d.open('/api-keys');
    await d.page.locator('[data-test=add-key]').click();
    await d.page.locator('[data-test=key-name]').fill('ci-robot');
    await d.page.locator('[data-test=key-save]').click();
    const secret = (await d.page.locator('[data-test=key-secret]').innerText()).trim();
    const keys = await api.get('/api_key');
    const key = keys.body.find((k: { name: string }) => k.name === 'ci-robot').api_key as string;
    const basic = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
    assert.equal((await api.get('/nodes', { auth: basic })).status, 200);
    await d.page.keyboard.press('Escape');
    await d.page
      .locator('.el-switch', { has: d.page.getByRole('switch', { name: 'Enable ci-robot' }) })
      .click();
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      status = (await api.get('/nodes', { auth: basic })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401, 'a disabled key is refused');
    d.assertNoConsoleErrors();
  });

  it('adds an authentication user from its page, who can then connect', async () => {
    // The authenticator itself was added by the page tour above.
    await d.open('/authentication/password_based%3Abuilt_in_database/users');
    await d.page.locator('[data-test=add-user]').click();
    await d.page.locator('[data-test=user-id]').fill('device-2');
    await d.page.locator('[data-test=user-password]').fill('s3cret-2');
    await d.page.locator('[data-test=user-save]').click();
    await d.page.locator('.el-table').getByText('device-2', { exact: true }).waitFor();
    const device = await connectClient(d.broker.port, { username: 'device-2', password: 's3cret-2' });
    await end(device);
    await assert.rejects(
      connectClient(d.broker.port, { username: 'device-2', password: 'wrong' }),
      /[Bb]ad user name or password|Not authorized|refused|134|135/,
    );
    d.assertNoConsoleErrors();
  });

  it('pages past page 1 of Subscriptions, showing the rest of the rows', async () => {
    const many = await connectClient(d.broker.port, {
      clientId: 'pager',
      username: 'device-1',
      password: 'secret',
    });
    clients.push(many);
    const topics = Array.from({ length: 25 }, (_, i) => `page/${String(i + 1).padStart(2, '0')}`);
    await many.subscribeAsync(topics);
    await d.open('/subscriptions');
    await d.page.getByLabel('Client ID').fill('pager');
    await d.page.getByRole('button', { name: 'Search' }).click();
    const pager = d.page.locator('.el-pagination');
    await pager.getByText('Total 25').waitFor();
    const shown = async (): Promise<string[]> =>
      (await d.page.locator('.el-table__body .el-table__row td:nth-child(2)').allInnerTexts()).map((t) =>
        t.trim(),
      );
    const rows = d.page.locator('.el-table__body .el-table__row');
    await rows.nth(19).waitFor();
    const first = await shown();
    assert.equal(first.length, 20, 'a page holds 20 rows');
    await pager.locator('.el-pager li', { hasText: /^2$/ }).click();
    await rows.nth(5).waitFor({ state: 'detached' });
    await rows.nth(4).waitFor();
    const second = await shown();
    assert.equal(second.length, 5);
    assert.deepEqual([...first, ...second].sort(), topics, 'every subscription once, over the two pages');
    await d.screenshots('subscriptions-page-2');
    d.assertNoConsoleErrors();
  });

  it('deactivates an active alarm, which moves to History', async () => {
    d.broker.node.mgmt!.ctx.alarms.activate('dash_test_alarm', {}, 'raised by the dashboard test');
    await d.open('/alarms');
    const row = d.page.locator('.el-table__row', { hasText: 'dash_test_alarm' });
    await row.getByText('raised by the dashboard test').waitFor();
    await row.getByRole('button', { name: 'Deactivate' }).click();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual(
      d.broker.node.mgmt!.ctx.alarms.activated().map((a) => a.name),
      [],
      'no alarm is active any more',
    );
    await d.page.getByRole('tab', { name: 'History' }).click();
    await d.page.waitForURL(/\/alarms\?tab=history$/);
    await d.page.locator('.el-table__row', { hasText: 'dash_test_alarm' }).waitFor();
    d.assertNoConsoleErrors();
  });

  it('stops, starts and restarts a listener from the Listeners page', async () => {
    // The WebSocket listener: stopping it leaves the MQTT clients of the other tests connected.
    const row = d.page.locator('.el-table__row', { hasText: 'ws:default' });
    const status = row.locator('.el-tag');
    // 'connected' or why not; device-1 is the user the page tour added (the node requires a login since).
    const wsConnect = async (): Promise<string> => {
      try {
        // Asked each time: the listener binds port 0, so a start picks a new port.
        const port = d.broker.node.port('ws:default');
        const c = await connectClient(port, {
          protocol: 'ws',
          path: '/mqtt',
          port,
          username: 'device-1',
          password: 'secret',
        });
        await end(c);
        return 'connected';
      } catch (err) {
        return (err as Error).message;
      }
    };
    await d.open('/listeners');
    await status.getByText('Running').waitFor();
    await row.getByRole('button', { name: 'Stop' }).click();
    assert.match(await d.confirm('Stop'), /Stop listener ws:default\?/);
    await status.getByText('Stopped').waitFor();
    assert.match(await wsConnect(), /not running|ECONNREFUSED/, 'a stopped listener takes no connections');
    await d.screenshots('listeners-stopped');

    await row.getByRole('button', { name: 'Start' }).click();
    await status.getByText('Running').waitFor();
    assert.equal(await wsConnect(), 'connected', 'started again, it takes connections');

    await row.getByRole('button', { name: 'Restart' }).click();
    await d.page.locator('.el-message--success').getByText('Done').first().waitFor();
    await status.getByText('Running').waitFor();
    assert.equal(await wsConnect(), 'connected', 'restarted, it takes connections');
    d.assertNoConsoleErrors();
  });

  it('changes the password on the Users page and logs in with the new one', async () => {
    await d.open('/users');
    await d.page.locator('[data-test=change-my-password]').click();
    await d.page.locator('[data-test=old-password]').fill('public');
    await d.page.locator('[data-test=new-password]').fill('n3w-Passw0rd!');
    await d.page.locator('[data-test=repeat-password]').fill('n3w-Passw0rd!');
    await d.page.locator('[data-test=password-save]').click();
    await d.page.waitForURL(/\/login/);
    await d.login('admin', 'n3w-Passw0rd!');
    await d.open('/users');
    await d.page.locator('#main').getByText('admin', { exact: true }).first().waitFor();
    const old = await api.post('/login', { username: 'admin', password: 'public' }, { auth: null });
    assert.equal(old.status, 401);
    d.expectConsoleError(/401/);
    d.assertNoConsoleErrors();
  });
});
