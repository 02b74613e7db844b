/** Builds real plugin packages (NAME-VSN.tar.gz) for the tests, from plain JavaScript sources. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

export interface PackageSpec {
  name: string;
  vsn: string;
  /** The entry module's source (ESM). */
  code: string;
  /** release.json fields merged over the defaults; null removes a field. */
  release?: Record<string, unknown>;
  /** Extra files by path under NAME-VSN/. */
  files?: Record<string, string>;
  /** Symlinks by path under NAME-VSN/ → target. */
  links?: Record<string, string>;
  /** Extra entries with raw paths (e.g. '../evil'), written with preservePaths. */
  rawEntries?: string[];
}

/** Writes NAME-VSN.tar.gz into `outDir` and returns its path. */
export async function buildPackage(outDir: string, spec: PackageSpec): Promise<string> {
  const nameVsn = `${spec.name}-${spec.vsn}`;
  const work = mkdtempSync(join(tmpdir(), 'hermod-pkg-'));
  try {
    const root = join(work, 'pkg');
    const dir = join(root, nameVsn);
    mkdirSync(dir, { recursive: true });
    const release: Record<string, unknown> = {
      name: spec.name,
      rel_vsn: spec.vsn,
      description: `The ${spec.name} test plugin`,
      entry: 'index.js',
      compatibility: { hermod: '>=0.0.0' },
      ...spec.release,
    };
    for (const [k, v] of Object.entries(release)) if (v === null) delete release[k];
    const files: Record<string, string> = {
      'release.json': JSON.stringify(release),
      'README.md': `# ${spec.name}\n\nA plugin for tests.\n`,
      'index.js': spec.code,
      ...spec.files,
    };
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    for (const [p, target] of Object.entries(spec.links ?? {})) symlinkSync(target, join(dir, p));
    const file = join(outDir, `${nameVsn}.tar.gz`);
    const entries = [nameVsn];
    if (spec.rawEntries !== undefined) {
      writeFileSync(join(work, 'evil'), 'x');
      entries.push(...spec.rawEntries);
    }
    await tar.c({ gzip: true, file, cwd: root, portable: true, preservePaths: true }, entries);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A plugin that appends `-TAG` (its config's `tag`, default its name) to payloads on `chain/#`. */
export function appender(tag: string): string {
  return `
export default {
  start(api) {
    api.hook('message.publish', (msg) => {
      if (msg.topic.startsWith('chain/')) msg.payload = Buffer.concat([msg.payload, Buffer.from('-' + (api.config().tag ?? '${tag}'))]);
      return undefined;
    }, 5);
  },
};
`;
}
