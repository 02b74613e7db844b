// Packs the plugin as NAME-VSN.tar.gz: NAME-VSN/{release.json, README.md, dist/, priv/}. Needs the system tar.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const nameVsn = `${pkg.name}-${pkg.version}`;
if (!existsSync('dist/src/index.js')) throw new Error('dist/src/index.js is missing: run npm run build first');
const work = mkdtempSync(join(tmpdir(), 'hermod-pack-'));
try {
  const dir = join(work, nameVsn);
  mkdirSync(dir);
  cpSync('dist/src', join(dir, 'dist'), { recursive: true });
  if (existsSync('priv')) cpSync('priv', join(dir, 'priv'), { recursive: true });
  cpSync('README.md', join(dir, 'README.md'));
  const release = {
    name: pkg.name,
    rel_vsn: pkg.version,
    description: pkg.description,
    entry: 'dist/index.js',
    compatibility: { hermod: pkg.hermod?.compatibility ?? '*' },
    authors: pkg.author ? [pkg.author] : [],
    git_commit_or_build_date: new Date().toISOString(),
    metadata_vsn: '0.1.0',
    with_config_schema: existsSync('priv/config_schema.json'),
  };
  writeFileSync(join(dir, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const out = resolve(`${nameVsn}.tar.gz`);
  execFileSync('tar', ['-czf', out, '-C', work, nameVsn]);
  console.log(`wrote ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
