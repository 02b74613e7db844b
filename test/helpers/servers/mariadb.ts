/**
 * A private MariaDB for a test file: mariadb-install-db into a temp dir, mariadbd on a free loopback
 * port, a `hermod` user with a password and a `hermod` database, seeded through the socket as root.
 */
import { join } from 'node:path';
import { freePort, run, type ServerProcess, startProcess, tempDir } from './common.js';

export const MY_USER = 'hermod';
export const MY_PASSWORD = 'my-secret';
export const MY_DATABASE = 'hermod';

/** Starts MariaDB with the hermod database and user. */
export async function startMariadb(): Promise<ServerProcess & { sql(text: string): string }> {
  const port = await freePort();
  const dir = tempDir('mariadb');
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
  run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    `--user=${user}`,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    '--skip-name-resolve',
  ]);
  const s = await startProcess(
    'mariadbd',
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--user=${user}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M',
      '--skip-log-bin',
      '--innodb-flush-log-at-trx-commit=0',
    ],
    port,
    dir,
  );
  const sql = (text: string) =>
    run('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch'], text);
  sql(`CREATE DATABASE ${MY_DATABASE};
CREATE USER '${MY_USER}'@'%' IDENTIFIED BY '${MY_PASSWORD}';
GRANT ALL ON ${MY_DATABASE}.* TO '${MY_USER}'@'%';
FLUSH PRIVILEGES;`);
  return Object.assign(s, { sql: (text: string) => sql(`USE ${MY_DATABASE};\n${text}`) });
}
