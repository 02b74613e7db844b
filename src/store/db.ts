/**
 * The embedded store: one SQLite database (better-sqlite3) under node.data_dir. SQLite gives crash-safe
 * writes, transactions and ad-hoc queries for the API with no server to run; better-sqlite3 is synchronous,
 * which keeps callers simple, so hot-path writers batch (see the retainer).
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateDir, PRIVATE_FILE_MODE, restrictFiles } from '../private-files.js';

export type Db = Database.Database;

/** A table owner declares its schema here; statements run once at open, in order. */
const MIGRATIONS: Array<{ id: number; sql: string }> = [
  {
    id: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS retained (
        topic TEXT PRIMARY KEY,
        payload BLOB NOT NULL,
        qos INTEGER NOT NULL,
        props TEXT,
        from_clientid TEXT NOT NULL,
        from_username TEXT,
        publish_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS sessions (
        namespace TEXT NOT NULL,
        clientid TEXT NOT NULL,
        state TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, clientid)
      );
      CREATE TABLE IF NOT EXISTS kv (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (scope, key)
      );
    `,
  },
];

/** Opens (creating if needed) the store at `<dataDir>/hermod.db`; ':memory:' for a throwaway store. */
export function openStore(dataDir: string | ':memory:'): Db {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    ensurePrivateDir(dataDir);
    file = join(dataDir, 'hermod.db');
    // SQLite creates the database with 0644 and gives its -wal/-shm files the database's mode: create it
    // 0600 first, and narrow files an older version left readable.
    closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
    restrictFiles(file, `${file}-wal`, `${file}-shm`);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT id FROM schema_migrations').all() as Array<{ id: number }>).map((r) => r.id),
  );
  const mark = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const m of MIGRATIONS) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      mark.run(m.id, Date.now());
    })();
  }
  return db;
}
