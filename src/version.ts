/** Hermod's version and self-description, shared by $SYS, the API and the CLI. */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

export const VERSION = readVersion();
export const SYSDESCR = 'Hermod, a multi-protocol IoT message broker';
