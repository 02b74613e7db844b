/**
 * Files a running node leaves in its data dir so `hermod ctl` and `hermod stop` can find and talk to it:
 * the API endpoint (ctl.endpoint, JSON) and a local credential (ctl.credential, mode 0600, "key:secret").
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CREDENTIAL_FILE = 'ctl.credential';
export const ENDPOINT_FILE = 'ctl.endpoint';

export interface Endpoint {
  /** Base URL of the REST API on loopback, e.g. http://127.0.0.1:18083. */
  url: string;
  pid: number;
  node: string;
  version: string;
}

/** Writes both files; the credential is readable by the node's user only. */
export function writeRuntimeFiles(
  dataDir: string,
  endpoint: Endpoint,
  credential: { key: string; secret: string },
): void {
  const cred = join(dataDir, CREDENTIAL_FILE);
  // Remove first: writeFileSync keeps the mode of an existing file.
  rmSync(cred, { force: true });
  writeFileSync(cred, `${credential.key}:${credential.secret}\n`, { mode: 0o600 });
  writeFileSync(join(dataDir, ENDPOINT_FILE), `${JSON.stringify(endpoint)}\n`);
}

/** Removes the files if they still describe this process (a newer node may have replaced them). */
export function removeRuntimeFiles(dataDir: string, pid: number): void {
  const ep = readEndpoint(dataDir);
  if (ep !== undefined && ep.pid !== pid) return;
  rmSync(join(dataDir, ENDPOINT_FILE), { force: true });
  rmSync(join(dataDir, CREDENTIAL_FILE), { force: true });
}

/** The endpoint file of a data dir, or undefined when absent or unreadable. */
export function readEndpoint(dataDir: string): Endpoint | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8')) as Endpoint;
  } catch {
    return undefined;
  }
}

/** The credential of a data dir as [key, secret], or undefined. */
export function readCredential(dataDir: string): [string, string] | undefined {
  try {
    const text = readFileSync(join(dataDir, CREDENTIAL_FILE), 'utf8').trim();
    const i = text.indexOf(':');
    return i < 0 ? undefined : [text.slice(0, i), text.slice(i + 1)];
  } catch {
    return undefined;
  }
}

/** A URL for reaching a bound address from this host (wildcard binds are reached on loopback). */
export function loopbackUrl(scheme: 'http' | 'https', host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `${scheme}://127.0.0.1:${port}`;
  if (host === '::') return `${scheme}://[::1]:${port}`;
  return host.includes(':') ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}
