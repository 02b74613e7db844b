import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of a file Hermod ships beside its code (`proto/exhook.proto`, `etc/lwm2m_xml`), found by
 * walking up from this module to the folder that holds package.json and the file. The walk, not a fixed
 * `../..`, is what makes one answer right from src/, from dist/src/ and from an installed package.
 */
export function packageFile(...segments: string[]): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, ...segments);
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`${segments.join('/')} not found in the Hermod package`);
    dir = up;
  }
}
