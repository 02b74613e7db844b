/**
 * Browser test harness for the dashboard: a Hermod node in-process (temp data dir, free loopback ports,
 * the built dist/web) and Debian's chromium driven by playwright-core. One browser per test file. Every
 * console error or uncaught page error is recorded and `assertNoConsoleErrors` fails the test on any, except
 * those a test declared expected (e.g. the browser's own line for a deliberate 401).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { WEB_ROOT } from '../../src/mgmt/web-static.js';
import { type StartOptions, startBroker, type TestBroker } from '../helpers/broker.js';

export const CHROMIUM = process.env.HERMOD_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots land here (git-ignored): test-output/web/<name>-<width>.png. */
export const OUTPUT_DIR = fileURLToPath(new URL('../../../test-output/web/', import.meta.url));

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Generous: the machine is shared and a first page load compiles a megabyte of script. */
export const WAIT = 20_000;

export interface Dashboard {
  broker: TestBroker;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** http://127.0.0.1:<port> of the management listener. */
  url: string;
  /** Console errors seen so far (text). */
  errors: string[];
  /** Declares a console error the test provokes on purpose (matched by text). */
  expectConsoleError(pattern: RegExp): void;
  /** Fails on any console error not declared expected, then forgets them. */
  assertNoConsoleErrors(): void;
  /** Opens a path of the app (e.g. '/gateways') and waits for the network to settle. */
  open(path: string): Promise<void>;
  /** Logs in through the login page as admin/public. */
  login(username?: string, password?: string): Promise<void>;
  /** Answers the open confirmation box with `button`; resolves to the box's text. */
  confirm(button: string): Promise<string>;
  /**
   * Saves <name>-1280.png and <name>-390.png of the current page, all of it (the window is made as tall as the
   * content of #main, which is what scrolls), and checks it does not scroll sideways and that every Element
   * Plus component on it was registered.
   */
  screenshots(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface DashboardOptions extends StartOptions {}

export async function startDashboard(opts: DashboardOptions = {}): Promise<Dashboard> {
  assert.ok(
    existsSync(join(WEB_ROOT, 'index.html')),
    `the dashboard is not built (${WEB_ROOT}); run npm run build:web`,
  );
  assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}; node scripts/test-deps.mjs installs it`);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const broker = await startBroker({ tempDataDir: true, ...opts, api: true });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    const url = broker.apiUrl!;
    const errors: string[] = [];
    const expected: RegExp[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack ?? err.message}`));
    const dash: Dashboard = {
      broker,
      browser,
      context,
      page,
      url,
      errors,
      expectConsoleError(pattern) {
        expected.push(pattern);
      },
      assertNoConsoleErrors() {
        const bad = errors.filter((e) => !expected.some((p) => p.test(e)));
        errors.length = 0;
        expected.length = 0;
        assert.deepEqual(bad, [], 'console errors in the dashboard');
      },
      async open(path) {
        await page.goto(url + path, { waitUntil: 'networkidle' });
      },
      async login(username = 'admin', password = 'public') {
        await dash.open('/login');
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password', { exact: true }).fill(password);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      },
      async confirm(button) {
        const box = page.locator('.el-message-box');
        await box.waitFor();
        const text = await box.innerText();
        await box.getByRole('button', { name: button }).click();
        await box.waitFor({ state: 'hidden' });
        return text;
      },
      async screenshots(name) {
        // Let Element Plus finish layout transitions (menu collapse, table resize) before measuring or capturing.
        const settle = () =>
          page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        // How much of #main is scrolled out of view: the app scrolls inside it, not the document.
        const hiddenBelow = () =>
          page.evaluate(() => {
            const main = document.getElementById('main');
            return main === null ? 0 : main.scrollHeight - main.clientHeight;
          });
        for (const size of [DESKTOP, PHONE]) {
          await page.setViewportSize(size);
          await page.waitForLoadState('networkidle');
          await settle();
          // A component missing from web/src/element-plus.ts stays an unknown <el-*> tag (the production build
          // has no "Failed to resolve component" warning), so look for such tags in the page.
          const unresolved = await page.evaluate(() => [
            ...new Set(
              [...document.querySelectorAll('*')]
                .map((e) => e.tagName.toLowerCase())
                .filter((t) => t.startsWith('el-')),
            ),
          ]);
          assert.deepEqual(unresolved, [], `${name}: Element Plus components not registered`);
          const overflow = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          assert.ok(overflow <= 1, `${name} scrolls sideways by ${overflow}px at ${size.width}px`);
          // fullPage only covers the document, so a long page would be cut at the window's bottom edge: grow
          // the window by what #main hides until it hides nothing (a taller window can re-flow the page).
          let height = size.height;
          for (
            let i = 0, hidden = await hiddenBelow();
            hidden > 1 && i < 5;
            i++, hidden = await hiddenBelow()
          ) {
            height += hidden;
            await page.setViewportSize({ width: size.width, height });
            await settle();
          }
          const left = await hiddenBelow();
          assert.ok(left <= 1, `${name} at ${size.width}px: ${left}px of #main left out of the screenshot`);
          await page.screenshot({ path: join(OUTPUT_DIR, `${name}-${size.width}.png`), fullPage: true });
        }
        await page.setViewportSize(DESKTOP);
        await settle();
      },
      async stop() {
        await browser?.close();
        await broker.stop();
      },
    };
    return dash;
  } catch (err) {
    await browser?.close();
    await broker.stop();
    throw err;
  }
}
