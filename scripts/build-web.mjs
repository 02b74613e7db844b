#!/usr/bin/env node
// Builds the dashboard (web/ → dist/web/) with Vite. Without --force it builds only when dist/web is
// missing or older than a file under web/ (or the lock file), so `npm install` and `npm test` pay for a
// build once and then nothing, while an edited page is never tested stale.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

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
precompress(join(root, 'dist', 'web'));

/**
 * Writes <file>.br and <file>.gz next to every text asset, so src/mgmt/web-static.ts sends the compressed
 * bytes (about a quarter of the size) at the cost of one stat per request instead of compressing each time.
 * gzip at its maximum level (0.1 s); brotli at quality 10, not 11: 11 took 7 s against 2.4 s here for 1.6%
 * fewer bytes, and every edited page pays for the build before a test run. Small files are skipped, where the
 * encoding header costs about what it saves.
 */
function precompress(dir) {
  const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.map', '.txt']);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      precompress(p);
      continue;
    }
    if (!TEXT.has(extname(e.name))) continue;
    const raw = readFileSync(p);
    if (raw.length < 1024) continue;
    writeFileSync(`${p}.gz`, gzipSync(raw, { level: 9 }));
    writeFileSync(
      `${p}.br`,
      brotliCompressSync(raw, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 10,
          [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
      }),
    );
  }
}
