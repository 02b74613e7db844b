/**
 * The ExHook pages in a real browser: a grpc-js ExHook server (test/exhook/provider.ts) is added with the
 * + Add form, shows up connected in the list, and its details list the hooks it registered with their
 * parameters; an MQTT client's connect is counted in the metrics; Update changes the config, including the
 * failed action and auto reconnect, which a reload shows as saved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { TestProvider } from '../exhook/provider.js';
import { type Dashboard, startDashboard } from './browser.js';

describe('dashboard: exhook', () => {
  let d: Dashboard;
  let provider: TestProvider;
  before(async () => {
    provider = await TestProvider.start({
      hooks: [{ name: 'client.connected' }, { name: 'message.publish', topics: ['sensors/#'] }],
    });
    d = await startDashboard();
    await d.login();
  });
  after(async () => {
    await d?.stop();
    await provider?.stop();
  });

  it('adds an ExHook server with the + Add form', async () => {
    const page = d.page;
    await d.open('/exhook');
    await d.screenshots('exhook-empty');
    await page.locator('[data-test=exhook-add]').click();
    await page.waitForURL(/\/exhook\/add$/);
    const form = page.locator('[data-test=exhook-form]');
    await form.getByLabel('Name').fill('dash_hooks');
    await form.getByLabel('URL').fill(provider.url);
    await form.getByLabel('Request timeout').fill('3s');
    await form.getByLabel('Pool size').fill('2');
    // TLS shows the client certificate fields; this server is plain http, so it is switched off again.
    await form.locator('.el-switch:has(#exhook-tls)').click();
    await form.getByLabel('CA certificate file').fill('/tmp/ca.pem');
    await form.locator('.el-switch:has(#exhook-tls)').click();
    await form.getByLabel('CA certificate file').waitFor({ state: 'detached' });
    await d.screenshots('exhook-add');
    await page.locator('[data-test=exhook-create]').click();
    await page.waitForURL(/\/exhook$/);
    const row = page.locator('[data-test=exhook-table] .el-table__row', { hasText: 'dash_hooks' });
    await row.getByText('connected').waitFor();
    assert.match(await row.innerText(), new RegExp(provider.url.replace(/[./]/g, '\\$&')));
    await d.screenshots('exhook');
    const stored = d.broker.node.config.exhook.servers.find((s) => s.name === 'dash_hooks');
    assert.equal(stored?.pool_size, 2);
    d.assertNoConsoleErrors();
  });

  it('shows metrics and the registered hooks with their parameters', async () => {
    const page = d.page;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.broker.port}`, { clientId: 'dash-exhook' });
    await client.endAsync();
    await page.locator('[data-test=exhook-dash_hooks]').click();
    await page.waitForURL(/\/exhook\/dash_hooks$/);
    const metrics = page.locator('[data-test=exhook-metrics]');
    await metrics.getByText('Registered hooks').waitFor();
    assert.match(await metrics.innerText(), /Registered hooks\s*2/);
    await d.screenshots('exhook-detail');
    await page.getByRole('tab', { name: 'Registered hooks' }).click();
    const hooks = page.locator('[data-test=exhook-hooks]');
    await hooks.getByText('message.publish').waitFor();
    const publishRow = hooks.locator('.el-table__row', { hasText: 'message.publish' });
    assert.match(await publishRow.innerText(), /sensors\/#/);
    const connected = hooks.locator('.el-table__row', { hasText: 'client.connected' });
    assert.match(await connected.innerText(), /client\.connected\s+—\s+1\s/);
    await d.screenshots('exhook-hooks');
    d.assertNoConsoleErrors();
  });

  it('updates a server from its details page', async () => {
    const page = d.page;
    await page.getByRole('tab', { name: 'Overview' }).click();
    const form = page.locator('[data-test=exhook-form]');
    await form.getByLabel('Request timeout').fill('7s');
    await page.locator('[data-test=exhook-update]').click();
    await page.getByText('Saved').first().waitFor();
    const stored = d.broker.node.config.exhook.servers.find((s) => s.name === 'dash_hooks');
    assert.equal(stored?.request_timeout, 7000);
    d.assertNoConsoleErrors();
  });

  it('saves the failed action and auto reconnect, and shows them after a reload', async () => {
    const page = d.page;
    const form = page.locator('[data-test=exhook-form]');
    const failed = form.locator('.el-form-item', { hasText: 'Failed action' });
    const interval = form.getByLabel('Reconnect interval');
    const stored = () => d.broker.node.config.exhook.servers.find((s) => s.name === 'dash_hooks');
    // A fresh page: the previous test's "Saved" message must not stand for this save.
    await d.open('/exhook/dash_hooks');
    await failed.locator('.el-select').click();
    await page.getByRole('option', { name: 'Ignore' }).click();
    await interval.fill('15s');
    await page.locator('[data-test=exhook-update]').click();
    await page.getByText('Saved').first().waitFor();
    assert.equal(stored()?.failed_action, 'ignore');
    assert.equal(stored()?.auto_reconnect, 15_000);

    await d.open('/exhook/dash_hooks');
    await interval.waitFor();
    assert.equal(await interval.inputValue(), '15s');
    assert.match(await failed.innerText(), /Ignore/);
    assert.equal(await form.locator('#exhook-reconnect').isChecked(), true);
    await d.screenshots('exhook-settings');

    // Off: the interval field goes away, and the node stops retrying a lost server.
    await form.locator('.el-switch:has(#exhook-reconnect)').click();
    await interval.waitFor({ state: 'detached' });
    await page.locator('[data-test=exhook-update]').click();
    await page.getByText('Saved').first().waitFor();
    assert.ok(!stored()?.auto_reconnect, `auto_reconnect is ${stored()?.auto_reconnect}`);
    await d.open('/exhook/dash_hooks');
    await form.getByLabel('Request timeout').waitFor();
    assert.equal(await form.locator('#exhook-reconnect').isChecked(), false);
    assert.equal(await interval.count(), 0);
    assert.match(await failed.innerText(), /Ignore/);
    d.assertNoConsoleErrors();
  });
});
