/**
 * The Gateways pages in a real browser against a live node: every gateway the node has is listed from the
 * API; the STOMP gateway is set up with the three-step wizard (its listener moved to a free port), a real
 * STOMP client (@stomp/stompjs) connects, is found in the gateway's Clients page by client id and kicked out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { stompjs } from '../gateway/stompjs.js';
import { freePort } from '../helpers/servers/common.js';
import { type Dashboard, startDashboard, WAIT } from './browser.js';

describe('dashboard: gateways', () => {
  let d: Dashboard;
  let stomp: Client | undefined;
  before(async () => {
    d = await startDashboard();
    await d.login();
  });
  after(async () => {
    await stomp?.deactivate();
    await d?.stop();
  });

  it('lists every gateway the node has, from the API', async () => {
    await d.open('/gateways');
    const names = d.broker.node.gateways.modules().map((m) => m.name);
    assert.ok(names.includes('stomp'));
    for (const name of names) await d.page.locator(`[data-test=status-${name}]`).waitFor();
    assert.equal(await d.page.locator('[data-test=status-stomp]').innerText(), 'Not set up');
    await d.screenshots('gateways');
    d.assertNoConsoleErrors();
  });

  it('sets up STOMP with the wizard: basic, listeners, authentication', async () => {
    const page = d.page;
    await page.locator('.el-table__row', { hasText: 'stomp' }).getByRole('button', { name: 'Setup' }).click();
    await page.waitForURL(/\/gateways\/stomp\/setup$/);
    // Step 1: the basic form comes from the schema, with STOMP's defaults.
    const step1 = page.locator('[data-test=step-basic]');
    await step1.getByLabel('Idle timeout').waitFor();
    assert.equal(await step1.getByLabel('Idle timeout').inputValue(), '30s');
    assert.equal(await step1.getByLabel('Mountpoint').inputValue(), '');
    await d.screenshots('gateway-setup-basic');
    await page.locator('[data-test=wizard-next]').click();
    // Step 2: the default TCP listener, moved to a free port.
    const listeners = page.locator('[data-test=step-listeners]');
    await listeners.getByText('61613').waitFor();
    await listeners.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.locator('[data-test=listener-form]');
    await dialog.getByLabel('Bind').waitFor();
    const port = await freePort();
    await dialog.getByLabel('Bind').fill(`127.0.0.1:${port}`);
    await d.screenshots('gateway-listener-dialog');
    await page.locator('[data-test=listener-save]').click();
    await listeners.getByText(`127.0.0.1:${port}`).waitFor();
    await d.screenshots('gateway-setup-listeners');
    await page.locator('[data-test=wizard-next]').click();
    // Step 3: STOMP offers the password backends and JWT; leave it open to every client.
    await page.locator('[data-test=step-authn] .el-select').click();
    for (const backend of ['HTTP Server', 'Built-in Database', 'MySQL', 'JWT'])
      await page.getByRole('option', { name: backend, exact: true }).waitFor();
    await page.getByRole('option', { name: 'None (allow every client)' }).click();
    await d.screenshots('gateway-setup-authn');
    await page.locator('[data-test=wizard-create]').click();
    await page.waitForURL(/\/gateways$/);
    await page.locator('[data-test=status-stomp]', { hasText: 'Running' }).waitFor();

    stomp = await stompjs(port, { connectHeaders: { login: 'dash-user', 'client-id': 'dash-stomp-1' } });
    d.assertNoConsoleErrors();
  });

  it('finds the STOMP client in Clients by client id and kicks it out', async () => {
    const page = d.page;
    await d.open('/gateways');
    await page.locator('[data-test=connections-stomp]', { hasText: /^1 \// }).waitFor({ timeout: WAIT });
    await page
      .locator('.el-table__row', { hasText: 'stomp' })
      .getByRole('button', { name: 'Clients' })
      .click();
    await page.waitForURL(/\/gateways\/stomp\/clients$/);
    const table = page.locator('[data-test=clients-table]');
    await table.getByText('dash-stomp-1').waitFor();
    await page.locator('[data-test=filter-clientid]').fill('nobody');
    await page.locator('[data-test=search]').click();
    await table.getByText('No Data').waitFor();
    await page.locator('[data-test=filter-clientid]').fill('dash-stomp');
    await page.locator('[data-test=filter-username]').fill('dash-user');
    await page.locator('[data-test=search]').click();
    const row = table.locator('.el-table__row', { hasText: 'dash-stomp-1' });
    await row.waitFor();
    assert.match(await row.innerText(), /dash-user/);
    assert.match(await row.innerText(), /127\.0\.0\.1/);
    await d.screenshots('gateway-clients');
    const closed = new Promise<void>((resolve) => {
      stomp!.onWebSocketClose = () => resolve();
    });
    await page.locator('[data-test=kick-dash-stomp-1]').click();
    await d.confirm('Kick Out');
    await closed;
    await table.getByText('No Data').waitFor();
    d.assertNoConsoleErrors();
  });

  it('updates the basic config from Settings and lists the running listener', async () => {
    const page = d.page;
    await d.open('/gateways/stomp/settings');
    await page.getByLabel('Idle timeout').fill('45s');
    await page.locator('[data-test=basic-update]').click();
    await page.getByText('Saved').first().waitFor();
    const raw = d.broker.node.gateways.rawConfig('stomp') as Record<string, unknown>;
    assert.equal(raw.idle_timeout, '45s');
    await page.getByRole('tab', { name: 'Listeners' }).click();
    await page.locator('[data-test=listener-table]').getByText('Running').waitFor();
    await d.screenshots('gateway-settings');
    d.assertNoConsoleErrors();
  });

  it('adds and removes a listener from Settings', async () => {
    const page = d.page;
    const port = await freePort();
    await page.locator('[data-test=add-listener]').click();
    const dialog = page.locator('[data-test=listener-form]');
    await dialog.getByLabel('Name', { exact: true }).fill('second');
    await dialog.getByLabel('Bind').fill(`127.0.0.1:${port}`);
    await page.locator('[data-test=listener-save]').click();
    const row = page.locator('[data-test=listener-table] .el-table__row', { hasText: 'second' });
    await row.getByText('Running').waitFor();
    assert.ok(d.broker.node.gateways.rawListener('stomp', 'tcp', 'second'));
    await row.getByRole('button', { name: 'Delete' }).click();
    await d.confirm('Delete');
    await row.waitFor({ state: 'detached' });
    assert.equal(d.broker.node.gateways.rawListener('stomp', 'tcp', 'second'), undefined);
    d.assertNoConsoleErrors();
  });

  it('adds an authenticator from the Authentication tab, with the backend form from its schema', async () => {
    const page = d.page;
    await page.getByRole('tab', { name: 'Authentication' }).click();
    await page.locator('[data-test=authn-form] .el-select').first().click();
    await page.getByRole('option', { name: 'Built-in Database', exact: true }).click();
    await page.locator('[data-test=authn-form]').getByLabel('User id type').waitFor();
    await page.locator('[data-test=authn-save]').click();
    await page.getByText('Saved').first().waitFor();
    await page.locator('[data-test=authn-delete]').waitFor();
    const raw = d.broker.node.gateways.rawConfig('stomp') as { authentication?: Record<string, unknown> };
    assert.equal(raw.authentication?.mechanism, 'password_based');
    assert.equal(raw.authentication?.backend, 'built_in_database');
    await d.screenshots('gateway-settings-authn');
    d.assertNoConsoleErrors();
  });

  it('shows an API error as its {code, message} text on a deep link that cannot load', async () => {
    d.expectConsoleError(/status of 400/);
    await d.open('/gateways/nope/settings');
    const err = d.page.locator('[data-test=page-load-error]');
    await err.waitFor();
    assert.match(await err.innerText(), /BAD_REQUEST: Invalid gateway name nope: expected one of stomp/);
    d.assertNoConsoleErrors();
  });

  it('warns before disabling a gateway and stops it', async () => {
    const page = d.page;
    await d.open('/gateways');
    await page.locator('[data-test=enable-stomp]').click();
    assert.match(await d.confirm('Disable'), /disconnects every client/);
    await page.locator('[data-test=status-stomp]', { hasText: 'Stopped' }).waitFor();
    assert.equal(d.broker.node.gateways.get('stomp')?.status, 'stopped');
    d.assertNoConsoleErrors();
  });

  it('opens the Clients of a gateway that is not set up as an empty page offering Setup, with no failed call', async () => {
    const page = d.page;
    const other = d.broker.node.gateways
      .modules()
      .map((m) => m.name)
      .find((n) => n !== 'stomp' && d.broker.node.gateways.get(n) === undefined);
    assert.ok(other, 'a gateway besides STOMP that is not set up');
    await d.open(`/gateways/${other}/clients`);
    const empty = page.locator('[data-test=gateway-not-set-up]');
    await empty.getByText(`The ${other} gateway is not set up, so it has no clients yet.`).waitFor();
    assert.equal(await page.locator('[data-test=clients-table]').count(), 0);
    await d.screenshots('gateway-clients-not-set-up');
    await empty.getByRole('button', { name: 'Setup' }).click();
    await page.waitForURL(new RegExp(`/gateways/${other}/setup$`));
    d.assertNoConsoleErrors();
  });
});
