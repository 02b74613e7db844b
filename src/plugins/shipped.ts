/**
 * Plugins shipped with Hermod: the packages `npm install` packs from the repo's `plugins/` into
 * `plugins.shipped_dir` are placed in install_dir at boot, unpacked and left stopped. Each is placed once:
 * a record in install_dir remembers it, so a plugin the user uninstalled stays uninstalled.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../log.js';
import { splitNameVsn, unpackPackage } from './package.js';

const RECORD = '.shipped.json';

/** Names already placed once (by NAME, any version), from install_dir's record. */
function placedNames(installDir: string): Set<string> {
  try {
    const list = JSON.parse(readFileSync(join(installDir, RECORD), 'utf8')) as unknown;
    return new Set(Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Where `npm install` packs the repo's plugins/ (dist/plugins beside dist/src). */
export function packagedPluginsDir(): string {
  return fileURLToPath(new URL('../../plugins/', import.meta.url));
}

/** Resolves a configured shipped_dir; '' means none. */
export function shippedDirOf(configured: string): string | undefined {
  if (configured === '') return undefined;
  return isAbsolute(configured) ? configured : resolve(configured);
}

/**
 * Copies and unpacks each NAME-VSN.tar.gz of `shippedDir` whose NAME was never placed and is not installed
 * in any version; returns the NAME-VSNs placed. A bad package is logged and skipped, the boot goes on.
 */
export async function placeShipped(
  shippedDir: string,
  installDir: string,
  maxBytes: number,
): Promise<string[]> {
  if (!existsSync(shippedDir)) return [];
  const placed = placedNames(installDir);
  const installedNames = new Set(
    readdirSync(installDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => splitNameVsn(e.name)?.name)
      .filter((n): n is string => n !== undefined),
  );
  const out: string[] = [];
  for (const file of readdirSync(shippedDir).sort()) {
    const m = /^(.+)\.tar\.gz$/.exec(file);
    const id = m === null ? undefined : splitNameVsn(m[1]!);
    if (id === undefined || placed.has(id.name) || installedNames.has(id.name)) continue;
    const nameVsn = m![1]!;
    const tarball = join(installDir, file);
    try {
      copyFileSync(join(shippedDir, file), tarball);
      await unpackPackage(tarball, installDir, nameVsn, maxBytes);
      out.push(nameVsn);
    } catch (err) {
      rmSync(tarball, { force: true });
      logger.error({ err, plugin: nameVsn }, 'plugin: cannot place a shipped package');
    }
    // A broken package is not retried on every boot either: it is recorded like a placed one.
    placed.add(id.name);
  }
  if (out.length > 0 || placed.size > 0)
    writeFileSync(join(installDir, RECORD), `${JSON.stringify([...placed].sort())}\n`);
  return out;
}
