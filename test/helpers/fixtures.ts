/** Paths of test fixtures, found from the repository root whatever directory the compiled test runs in. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding package.json above this file. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
  return dir;
}

/** Absolute path of a file under test/fixtures. */
export function fixture(...parts: string[]): string {
  return path.join(repoRoot(), 'test', 'fixtures', ...parts);
}

/** Contents of a file under test/fixtures. */
export function readFixture(...parts: string[]): Buffer {
  return readFileSync(fixture(...parts));
}
