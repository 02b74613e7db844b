import pg from 'pg';
import type { ServerProcess } from '../helpers/servers/common.js';
import { PG_DATABASE, PG_PASSWORD, PG_USER, startPostgres } from '../helpers/servers/postgres.js';
import { seedRows, sqlSuite } from './sql-suite.js';

async function exec(s: ServerProcess, sql: string): Promise<void> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: s.port,
    user: PG_USER,
    password: PG_PASSWORD,
    database: PG_DATABASE,
  });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

sqlSuite({
  name: 'postgresql',
  async start() {
    const s = await startPostgres();
    await exec(
      s,
      `CREATE TABLE mqtt_user (id SERIAL PRIMARY KEY, username TEXT UNIQUE, password_hash TEXT, salt TEXT, is_superuser TEXT);
       CREATE TABLE mqtt_acl (id SERIAL PRIMARY KEY, username TEXT, permission TEXT, action TEXT, topic TEXT, qos TEXT, retain TEXT);
       ${seedRows()}`,
    );
    return s;
  },
  exec,
  connection: (s) => ({
    server: `127.0.0.1:${s.port}`,
    database: PG_DATABASE,
    username: PG_USER,
    password: PG_PASSWORD,
  }),
});
