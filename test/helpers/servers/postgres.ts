/**
 * A private PostgreSQL for a test file: initdb into a temp dir (as the `postgres` system user, since
 * initdb refuses root), postgres on a free loopback port, password authentication for user `hermod`.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, run, type ServerProcess, startProcess, tempDir } from './common.js';

export const PG_USER = 'hermod';
export const PG_PASSWORD = 'pg-secret';
export const PG_DATABASE = 'hermod';

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0)
    throw new Error('PostgreSQL is not installed (npm test installs it: scripts/test-deps.mjs)');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** The postgres system user when we are root (initdb and postgres refuse to run as root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(run('id', ['-u', 'postgres']).trim()),
    gid: Number(run('id', ['-g', 'postgres']).trim()),
  };
}

/** The test user on the maintenance database (the test database does not exist yet). */
function adminLogin(port: number): pg.ClientConfig {
  return { host: '127.0.0.1', port, user: PG_USER, password: PG_PASSWORD, database: 'postgres' };
}

/** Resolves once PostgreSQL answers a query (an open port may still refuse: "starting up"). */
async function acceptsQueries(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = new pg.Client(adminLogin(port));
    try {
      await c.connect();
      await c.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await c.end().catch(() => {});
    }
  }
}

/** Starts PostgreSQL and creates the database; returns the server handle. */
export async function startPostgres(): Promise<ServerProcess> {
  const bin = binDir();
  const port = await freePort();
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o644 });
  const user = postgresUser();
  run(
    join(bin, 'initdb'),
    ['-D', data, '-U', PG_USER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--no-sync'],
    undefined,
    user,
  );
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ];
  // SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for the pool's idle connections.
  const s = await startProcess('postgres', join(bin, 'postgres'), args, port, dir, {
    stopSignal: 'SIGINT',
    ready: acceptsQueries,
    ...user,
  });
  const c = new pg.Client(adminLogin(port));
  await c.connect();
  await c.query(`CREATE DATABASE ${PG_DATABASE}`);
  await c.end();
  return s;
}
