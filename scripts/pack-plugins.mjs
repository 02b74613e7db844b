#!/usr/bin/env node
/**
 * Packs each plugin package under plugins/<name>/ of this repo into NAME-VSN.tar.gz (NAME-VSN/ holding the
 * package's files), the format `hermod ctl plugins install` and the boot step read. Run by `npm install`
 * (the prepare script); the output dir defaults to dist/plugins, which etc/hermod.conf names as
 * plugins.shipped_dir. Usage: node scripts/pack-plugins.mjs [--out DIR]
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--out');
const out = resolve(i > 0 ? process.argv[i + 1] : join(root, 'dist', 'plugins'));
const src = join(root, 'plugins');

mkdirSync(out, { recursive: true });
for (const name of existsSync(src) ? readdirSync(src).sort() : []) {
  const dir = join(src, name);
  if (!existsSync(join(dir, 'release.json'))) continue;
  const release = JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8'));
  if (release.name !== name) throw new Error(`plugins/${name}/release.json names ${release.name}`);
  const nameVsn = `${release.name}-${release.rel_vsn}`;
  const work = mkdtempSync(join(tmpdir(), 'hermod-pack-'));
  try {
    // Tests of the package stay in the repo; the tarball holds what the node runs and shows.
    cpSync(dir, join(work, nameVsn), { recursive: true, filter: (p) => !p.includes(`${name}/test`) });
    for (const f of readdirSync(out))
      if (f.startsWith(`${name}-`) && f.endsWith('.tar.gz')) rmSync(join(out, f));
    await tar.c({ gzip: true, portable: true, file: join(out, `${nameVsn}.tar.gz`), cwd: work }, [nameVsn]);
    console.log(`packed ${nameVsn}.tar.gz`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
