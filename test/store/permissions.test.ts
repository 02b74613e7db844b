import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OVERRIDE_FILE } from '../../src/config/service.js';
import { RotatingFile } from '../../src/log-setup.js';
import { startBroker } from '../helpers/broker.js';
import { adminClient } from '../mgmt/http.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('files and directories the broker creates are private', () => {
  const root = mkdtempSync(join(tmpdir(), 'hermod-perms-'));
  let umask: number;
  before(() => {
    // The usual umask, under which files were 0644 and directories 0755 before.
    umask = process.umask(0o022);
  });
  after(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the data directory 0700 and hermod.db, its WAL/SHM and the override file 0600', async () => {
    const dataDir = join(root, 'data');
    const b = await startBroker({ api: true, dataDir });
    try {
      const admin = await adminClient(b);
      const cur = await admin.get('/configs/mqtt');
      const put = await admin.put('/configs/mqtt', { ...cur.body, max_topic_levels: 64 });
      assert.equal(put.status, 200, put.text);
      await admin.post('/users', { username: 'ops', password: 'ops-pass-1' });
      assert.equal(mode(dataDir), '700');
      const db = join(dataDir, 'hermod.db');
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        assert.ok(existsSync(f), f);
        assert.equal(mode(f), '600', f);
      }
      assert.equal(mode(join(dataDir, OVERRIDE_FILE)), '600');
      assert.equal(mode(join(dataDir, 'configs')), '700');
    } finally {
      await b.stop();
    }
  });

  it('creates log directories 0700 and log files 0600, also after rotation', () => {
    const path = join(root, 'logs', 'hermod.log');
    const f = new RotatingFile(path, 50, 2);
    f.write(`${'x'.repeat(40)}\n`);
    f.write(`${'y'.repeat(40)}\n`);
    f.close();
    assert.equal(mode(join(root, 'logs')), '700');
    assert.equal(mode(path), '600');
    assert.equal(mode(`${path}.1`), '600');
  });
});
