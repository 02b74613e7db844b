#!/usr/bin/env node
// Builds the dashboard (web/ → dist/web/) with Vite. Without --force it builds only when dist/web is
// missing or older than a file under web/ (or the lock file), so `npm install` and `npm test` pay for a
// build once and then nothing, while an edited page is never tested stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'web', 'index.html');
const force = process.argv.includes('--force');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale() {
  if (!existsSync(out)) return 'missing';
  const built = statSync(out).mtimeMs;
  const sources = Math.max(newest(join(root, 'web')), statSync(join(root, 'package-lock.json')).mtimeMs);
  return sources > built ? 'stale' : undefined;
}

const why = force ? 'forced' : stale();
if (why === undefined) process.exit(0);
let build;
try {
  ({ build } = await import('vite'));
} catch {
  // A production install (npm install --omit=dev) has no Vite: the package ships dist/web prebuilt.
  console.warn('build-web: vite is not installed; skipping the dashboard build');
  process.exit(0);
}
console.log(`build-web: building the dashboard (${why})`);
await build({ configFile: join(root, 'web', 'vite.config.ts') });
