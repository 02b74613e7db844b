#!/usr/bin/env node
/**
 * Packs each plugin package under plugins/<name>/ of this repo into NAME-VSN.tar.gz (NAME-VSN/ holding the
 * package's files), the format `hermod ctl plugins install` and the boot step read. Run by `npm install`
 * (the prepare script); the output dir defaults to dist/plugins, which etc/hermod.conf names as
 * plugins.shipped_dir. Usage: node scripts/pack-plugins.mjs [--out DIR]
 *
 * Two kinds of package:
 * - plain ESM (release.json present): its files are copied as they are, plus a copy of each package its
 *   package.json lists in `bundledDependencies`, taken from this repo's node_modules, so the unpacked
 *   plugin resolves them from its own node_modules/ wherever the node keeps its data;
 * - a project `hermod plugin new` wrote (scripts/pack.mjs present): its TypeScript sources are transpiled
 *   (types are checked by the repo's tests, not here) and its own pack script makes the tarball.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--out');
const out = resolve(i > 0 ? process.argv[i + 1] : join(root, 'dist', 'plugins'));
const src = join(root, 'plugins');

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

function clearOld(name) {
  for (const f of readdirSync(out))
    if (f.startsWith(`${name}-`) && f.endsWith('.tar.gz')) rmSync(join(out, f));
}

/** A plain ESM package: its files (tests and a local node_modules left out) and its bundled dependencies. */
async function packPlain(name, dir) {
  const release = readJson(join(dir, 'release.json'));
  if (release.name !== name) throw new Error(`plugins/${name}/release.json names ${release.name}`);
  const nameVsn = `${release.name}-${release.rel_vsn}`;
  const work = mkdtempSync(join(tmpdir(), 'hermod-pack-'));
  try {
    cpSync(dir, join(work, nameVsn), {
      recursive: true,
      filter: (p) => {
        const first = relative(dir, p).split(/[\\/]/)[0];
        return first !== 'test' && first !== 'node_modules';
      },
    });
    const pkgPath = join(dir, 'package.json');
    const bundled = existsSync(pkgPath) ? (readJson(pkgPath).bundledDependencies ?? []) : [];
    for (const dep of bundled)
      cpSync(join(root, 'node_modules', dep), join(work, nameVsn, 'node_modules', dep), {
        recursive: true,
        dereference: true,
      });
    clearOld(name);
    await tar.c({ gzip: true, portable: true, file: join(out, `${nameVsn}.tar.gz`), cwd: work }, [nameVsn]);
    return nameVsn;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A scaffolded TypeScript project: built with this repo's compiler, then packed by its own scripts/pack.mjs.
 * Both run on a private copy, never in plugins/<name>/: test files pack in parallel, and a build in the shared
 * folder let one run delete the dist/ another was packing.
 */
function packProject(name, dir) {
  const pkg = readJson(join(dir, 'package.json'));
  if (pkg.name !== name) throw new Error(`plugins/${name}/package.json names ${pkg.name}`);
  const nameVsn = `${pkg.name}-${pkg.version}`;
  const work = mkdtempSync(join(tmpdir(), 'hermod-pack-project-'));
  try {
    cpSync(dir, work, {
      recursive: true,
      filter: (from) => !/[\\/](dist|node_modules)$|\.tar\.gz$/.test(from),
    });
    // --noCheck: the project's `hermod` dev dependency is not installed here; the repo's tests type-check it.
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--noCheck'], {
      cwd: work,
      stdio: 'inherit',
    });
    execFileSync(process.execPath, ['scripts/pack.mjs'], { cwd: work, stdio: 'ignore' });
    clearOld(name);
    copyFileSync(join(work, `${nameVsn}.tar.gz`), join(out, `${nameVsn}.tar.gz`));
    return nameVsn;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

mkdirSync(out, { recursive: true });
for (const name of existsSync(src) ? readdirSync(src).sort() : []) {
  const dir = join(src, name);
  let nameVsn;
  if (existsSync(join(dir, 'release.json'))) nameVsn = await packPlain(name, dir);
  else if (existsSync(join(dir, 'scripts', 'pack.mjs'))) nameVsn = packProject(name, dir);
  else continue;
  console.log(`packed ${nameVsn}.tar.gz`);
}
