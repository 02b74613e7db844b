/**
 * The Plugins pages in a real browser: a real plugin package (test/plugins/packages.ts) is uploaded through
 * the Install page, started, moved in the start order by drag and drop and by More → sort, its README shown
 * sanitised (a <script> and an onerror handler in it never run), its release.json facts and Read More link
 * shown, uninstalled, and stopped (its hook no longer changes messages); a package dropped on the Install
 * page's drop zone is installed like a picked one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { appender, buildPackage } from '../plugins/packages.js';
import { type Dashboard, startDashboard } from './browser.js';

const README = [
  '# Dash plugin',
  '',
  'Appends a **tag** to payloads.',
  '',
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'onerror\'">',
  '[click](javascript:window.__pwned=1)',
  '',
].join('\n');

describe('dashboard: plugins', () => {
  let d: Dashboard;
  let pkgDir: string;
  const order = () => d.broker.node.plugins.list().map((p) => `${p.name}-${p.rel_vsn}`);
  before(async () => {
    pkgDir = mkdtempSync(join(tmpdir(), 'hermod-dash-pkg-'));
    d = await startDashboard();
    await d.login();
  });
  after(async () => {
    await d?.stop();
    rmSync(pkgDir, { recursive: true, force: true });
  });

  it('installs an uploaded package, stopped, then starts it', async () => {
    const page = d.page;
    const file = await buildPackage(pkgDir, {
      name: 'dashplug',
      vsn: '1.0.0',
      code: appender('dash'),
      release: {
        authors: ['Ada', 'Bob'],
        builder: { name: 'Hermod tests', website: 'https://example.com/dashplug' },
        functionality: ['rewrite'],
      },
      files: {
        'README.md': README,
        'priv/config.hocon': 'tag = "dash"\n',
        'priv/config_schema.json': JSON.stringify({
          type: 'object',
          properties: { tag: { type: 'string', description: 'Appended to payloads on chain/#.' } },
          required: ['tag'],
          additionalProperties: false,
        }),
      },
    });
    await d.open('/plugins');
    await page.locator('[data-test=plugin-install]').click();
    await page.waitForURL(/\/plugins\/install$/);
    // Not allowed on the node yet: the API's 403 text, with the command to run, is shown inline.
    d.expectConsoleError(/403/);
    await page.locator('[data-test=plugin-upload] input[type=file]').setInputFiles(file);
    await page.locator('[data-test=plugin-install-submit]').click();
    const err = page.locator('[data-test=install-error]');
    await err.waitFor();
    assert.match(await err.innerText(), /FORBIDDEN: .*hermod ctl plugins allow dashplug-1\.0\.0/);
    await d.screenshots('plugin-install');
    d.broker.node.plugins.allow('dashplug-1.0.0');
    await page.locator('[data-test=plugin-install-submit]').click();
    await page.waitForURL(/\/plugins$/);
    await page.locator('[data-test=status-dashplug]', { hasText: 'Stopped' }).waitFor();
    await page.locator('[data-test=start-dashplug]').click();
    await page.locator('[data-test=status-dashplug]', { hasText: 'Running' }).waitFor();
    assert.equal(d.broker.node.plugins.status('dashplug-1.0.0'), 'running');
    d.assertNoConsoleErrors();
  });

  it('filters by name and status', async () => {
    const page = d.page;
    const second = await buildPackage(pkgDir, { name: 'otherplug', vsn: '2.0', code: appender('other') });
    d.broker.node.plugins.allow('otherplug-2.0');
    await d.broker.node.plugins.installUpload('otherplug-2.0.tar.gz', readFileSync(second));
    // Started once, so it has a place in the start order (a never-started plugin has none to move around).
    await d.broker.node.plugins.startAndEnable('otherplug-2.0');
    await d.broker.node.plugins.stopAndDisable('otherplug-2.0');
    await d.open('/plugins');
    const table = page.locator('[data-test=plugin-table]');
    await table.locator('[data-test=plugin-otherplug]').waitFor();
    await page.locator('[data-test=filter-name]').fill('other');
    await table.locator('[data-test=plugin-dashplug]').waitFor({ state: 'detached' });
    await page.locator('[data-test=filter-name]').fill('');
    await page.locator('.filters .el-select').click();
    await page.getByRole('option', { name: 'Running' }).click();
    await table.locator('[data-test=plugin-otherplug]').waitFor({ state: 'detached' });
    await table.locator('[data-test=plugin-dashplug]').waitFor();
    await d.screenshots('plugins-filtered');
    await d.open('/plugins');
    d.assertNoConsoleErrors();
  });

  it('changes the start order by drag and drop and by More → sort', async () => {
    const page = d.page;
    assert.deepEqual(order(), ['dashplug-1.0.0', 'otherplug-2.0']);
    await page
      .locator('[data-test=drag-dashplug-1\\.0\\.0]')
      .dragTo(page.locator('[data-test=plugin-table] .el-table__row', { hasText: 'otherplug' }));
    await page.getByText('Order saved').first().waitFor();
    assert.deepEqual(order(), ['otherplug-2.0', 'dashplug-1.0.0']);
    await d.screenshots('plugins');
    await page.locator('[data-test=more-dashplug]').click();
    await page.getByRole('menuitem', { name: 'Move to top' }).click();
    await page
      .locator('[data-test=plugin-table] .el-table__row')
      .first()
      .locator('[data-test=plugin-dashplug]')
      .waitFor();
    assert.deepEqual(order(), ['dashplug-1.0.0', 'otherplug-2.0']);
    d.assertNoConsoleErrors();
  });

  it('shows the README sanitised and the release.json facts, with Read More', async () => {
    const page = d.page;
    await page.locator('[data-test=plugin-dashplug]').click();
    await page.waitForURL(/\/plugins\/dashplug-1\.0\.0$/);
    const readme = page.locator('[data-test=readme]');
    await readme.getByRole('heading', { name: 'Dash plugin' }).waitFor();
    assert.equal(await readme.locator('strong').innerText(), 'tag');
    assert.equal(await readme.locator('script').count(), 0);
    assert.equal(await readme.locator('[onerror]').count(), 0);
    assert.equal(await readme.locator('a[href^="javascript"]').count(), 0);
    // Give a broken image time to fire its (removed) handler before checking nothing ran.
    await page.waitForLoadState('networkidle');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined);
    const info = page.locator('[data-test=release-info]');
    assert.match(await info.innerText(), /Ada, Bob/);
    assert.match(await info.innerText(), /Hermod tests/);
    assert.equal(
      await page.locator('[data-test=read-more]').getAttribute('href'),
      'https://example.com/dashplug',
    );
    await d.screenshots('plugin-detail');
    d.assertNoConsoleErrors();
  });

  it("edits the plugin's config with the form built from its schema", async () => {
    const page = d.page;
    await page.getByRole('tab', { name: 'Configuration' }).click();
    const form = page.locator('[data-test=plugin-config]');
    const tag = form.getByLabel('Tag');
    await tag.waitFor();
    assert.equal(await tag.inputValue(), 'dash');
    await tag.fill('board');
    await page.locator('[data-test=plugin-config-save]').click();
    await page.getByText('Saved').first().waitFor();
    assert.deepEqual(d.broker.node.plugins.getConfig('dashplug-1.0.0'), { tag: 'board' });
    await d.screenshots('plugin-config');
    d.assertNoConsoleErrors();
  });

  it('uninstalls from More', async () => {
    const page = d.page;
    await d.open('/plugins');
    await page.locator('[data-test=more-otherplug]').click();
    await page.getByRole('menuitem', { name: 'Uninstall' }).click();
    await d.confirm('Uninstall');
    await page.locator('[data-test=plugin-otherplug]').waitFor({ state: 'detached' });
    assert.deepEqual(order(), ['dashplug-1.0.0']);
    d.assertNoConsoleErrors();
  });

  it('stops a running plugin from the list: shown Stopped, and its hook is gone', async () => {
    const page = d.page;
    const c = await connectClient(d.broker.port, { clientId: 'plugin-stop-check' });
    try {
      await subscribe(c, 'chain/#', { qos: 1 });
      const got = collect(c);
      await publish(c, 'chain/1', 'before', { qos: 1 });
      assert.equal((await got.next(1, 10_000))[0]!.payload.toString(), 'before-board', 'running, it appends');

      await d.open('/plugins');
      await page.locator('[data-test=status-dashplug]', { hasText: 'Running' }).waitFor();
      await page.locator('[data-test=stop-dashplug]').click();
      await page.locator('[data-test=status-dashplug]', { hasText: 'Stopped' }).waitFor();
      await page.locator('[data-test=start-dashplug]').waitFor();
      assert.equal(d.broker.node.plugins.status('dashplug-1.0.0'), 'stopped');
      await publish(c, 'chain/2', 'after', { qos: 1 });
      assert.equal((await got.next(2, 10_000))[1]!.payload.toString(), 'after', 'stopped, it leaves it');
      await d.screenshots('plugins-stopped');
    } finally {
      await end(c);
    }
    d.assertNoConsoleErrors();
  });

  it('installs a package dropped on the Install page', async () => {
    const page = d.page;
    const file = await buildPackage(pkgDir, { name: 'dropplug', vsn: '3.1.0', code: appender('drop') });
    d.broker.node.plugins.allow('dropplug-3.1.0');
    await d.open('/plugins/install');
    const zone = page.locator('[data-test=plugin-upload] .el-upload-dragger');
    await zone.waitFor();
    // A user's drop: dragenter/dragover, then drop, each carrying a DataTransfer that holds the file.
    const bytes = [...readFileSync(file)];
    const dataTransfer = await page.evaluateHandle((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'dropplug-3.1.0.tar.gz', { type: 'application/gzip' }));
      return dt;
    }, bytes);
    for (const type of ['dragenter', 'dragover', 'drop']) await zone.dispatchEvent(type, { dataTransfer });
    await page.locator('[data-test=plugin-upload]').getByText('dropplug-3.1.0.tar.gz').waitFor();
    await page.locator('[data-test=plugin-install-submit]').click();
    await page.waitForURL(/\/plugins$/);
    await page.locator('[data-test=status-dropplug]', { hasText: 'Stopped' }).waitFor();
    assert.ok(
      d.broker.node.plugins.list().some((p) => `${p.name}-${p.rel_vsn}` === 'dropplug-3.1.0'),
      'installed on the node',
    );
    d.assertNoConsoleErrors();
  });
});
