/**
 * The retained log through a real broker: compaction while retained PUBLISHes keep coming, the one-time
 * migration of an older store's `retained` table, and restarts after damage (a segment with a record
 * damaged in its middle). After each, a restart must give back every retained message as it was: topic,
 * payload, QoS, properties, publisher, publish time and expiry.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Message } from '../../src/broker/message.js';
import { openStore } from '../../src/store/db.js';
import { readRetainedLog } from '../../src/store/retained-log.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { captureLogs } from '../helpers/log-capture.js';

const TOPICS = 6000;
/** c/<i> with i % 9 === 0 end cleared. */
const CLEARED = Math.ceil(TOPICS / 9);

const periodic = { durability: { mode: 'periodic', checkpoint_interval: '50ms' } };

/** Every field of the retained set a restart must give back. */
function snapshot(b: TestBroker): string[] {
  return b.node.retainer
    .all()
    .map((m: Message) =>
      JSON.stringify([
        m.topic,
        m.payload.toString('base64'),
        m.qos,
        m.props ?? null,
        m.from,
        m.headers.username ?? null,
        m.timestamp,
        m.expiresAt,
      ]),
    );
}

/** The live set as the files hold it (topic → payload, publish time). */
function onDisk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [t, r] of readRetainedLog(join(dir, 'retained')))
    out.set(t, `${r.payload.toString()}@${r.publishAt}`);
  return out;
}

function inMemory(b: TestBroker): Map<string, string> {
  return new Map(b.node.retainer.all().map((m) => [m.topic, `${m.payload.toString()}@${m.timestamp}`]));
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hermod-retlog-'));
}

describe('retained log', () => {
  it('compacts while retained PUBLISHes keep coming; the files and a restart hold the live set', async () => {
    const dir = tempDir();
    try {
      // Durability sync (the default): every turn's changes are appended, between the compaction's slices too.
      let b = await startBroker({ dataDir: dir });
      let before: string[];
      try {
        const pub = await connectClient(b.port, { protocolVersion: 5, clientId: 'c-pub', username: 'u' });
        const acks: Promise<unknown>[] = [];
        for (let i = 0; i < TOPICS; i++)
          acks.push(
            publish(pub, `c/${i}`, `a${i}`, {
              qos: 1,
              retain: true,
              properties: i % 4 === 1 ? { userProperties: { i: `${i}` } } : {},
            }),
          );
        await Promise.all(acks.splice(0));
        for (let i = 0; i < TOPICS; i += 2)
          acks.push(publish(pub, `c/${i}`, `b${i}`, { qos: 1, retain: true }));
        await Promise.all(acks.splice(0));
        await sleep(120);
        // The compaction reads 9 000 records in slices; sets, replaces and clears arrive between them.
        const compacted = b.node.retainer.compact();
        for (let i = 0; i < TOPICS; i += 3) {
          acks.push(publish(pub, `c/${i}`, i % 9 === 0 ? '' : `c${i}`, { qos: 1, retain: true }));
          if (i % 300 === 0) await sleep(0);
        }
        for (let i = 0; i < 500; i++) acks.push(publish(pub, `n/${i}`, `n${i}`, { qos: 0, retain: true }));
        await compacted;
        await Promise.all(acks);
        await publish(pub, 'n/last', 'last', { qos: 1, retain: true });
        await end(pub);
        await sleep(150);
        assert.deepEqual(onDisk(dir), inMemory(b));
        // One segment left: the snapshot, followed by what came after it.
        assert.equal(readdirSync(join(dir, 'retained')).length, 1);
        before = snapshot(b);
        assert.equal(before.length, TOPICS - CLEARED + 501);
        // A second compaction with nothing changing: the same set, smaller or equal files.
        await b.node.retainer.compact();
        assert.deepEqual(onDisk(dir), inMemory(b));
      } finally {
        await b.node.stop();
      }
      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        assert.deepEqual(snapshot(b), before);
        const sub = await connectClient(b.port, { protocolVersion: 5 });
        const got = collect(sub);
        await subscribe(sub, 'c/#', { qos: 1 });
        const msgs = await got.next(TOPICS - CLEARED);
        const byTopic = new Map(msgs.map((m) => [m.topic, m]));
        assert.equal(byTopic.get('c/4')?.payload.toString(), 'b4');
        assert.equal(byTopic.get('c/1')?.payload.toString(), 'a1');
        assert.equal(byTopic.get('c/1')?.packet.properties?.userProperties?.i, '1');
        assert.equal(byTopic.get('c/6')?.payload.toString(), 'c6');
        assert.equal(byTopic.has('c/9'), false);
        await end(sub);
      } finally {
        await b.node.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("migrates an older store's retained table once, then deletes its rows", async () => {
    const dir = tempDir();
    try {
      // The table as the SQLite retainer wrote it (same schema, same upsert).
      const db = openStore(dir);
      const insert = db.prepare(
        `INSERT INTO retained (topic, payload, qos, props, from_clientid, from_username, publish_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < 5000; i++)
          insert.run(
            `m/${i}`,
            Buffer.from(`old${i}`),
            i % 3,
            i % 7 === 0 ? JSON.stringify({ userProperties: { k: `p${i}` }, contentType: 'x' }) : null,
            `pub${i % 5}`,
            i % 2 === 0 ? 'alice' : null,
            now - 10_000 + i,
            i % 11 === 0 ? now + 3_600_000 : 0,
          );
        // Expired: not migrated.
        insert.run('m/expired', Buffer.from('gone'), 0, null, 'p', null, now - 5000, now - 1000);
      })();
      db.close();

      const logs = captureLogs();
      let b = await startBroker({ dataDir: dir, config: periodic });
      let first: string[];
      try {
        await b.node.retainer.compact();
        first = snapshot(b);
        assert.equal(first.length, 5000);
        const m7 = b.node.retainer.get('m/7')!;
        assert.equal(m7.payload.toString(), 'old7');
        assert.equal(m7.qos, 1);
        assert.deepEqual(m7.props, { userProperties: { k: 'p7' }, contentType: 'x' });
        assert.equal(m7.from, 'pub2');
        assert.equal(m7.headers.username, undefined);
        assert.equal(m7.timestamp, now - 10_000 + 7);
        assert.equal(b.node.retainer.get('m/22')!.expiresAt, now + 3_600_000);
        assert.equal(b.node.retainer.get('m/expired'), undefined);
        assert.equal(logs.matching('migrated to the retained log').length, 1);
        assert.equal(onDisk(dir).size, 5000);
        const peek = new Database(join(dir, 'hermod.db'), { readonly: true });
        assert.equal(peek.prepare('SELECT count(*) FROM retained').pluck().get(), 0);
        peek.close();
        // A change after the migration is the log's alone.
        const pub = await connectClient(b.port);
        await publish(pub, 'm/1', 'new1', { qos: 1, retain: true });
        await end(pub);
        first = snapshot(b);
      } finally {
        await b.node.stop();
      }
      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        assert.deepEqual(snapshot(b), first);
        assert.equal(b.node.retainer.get('m/1')!.payload.toString(), 'new1');
        assert.equal(logs.matching('migrated to the retained log').length, 1, 'migrated once');
      } finally {
        await b.node.stop();
        logs.restore();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a damaged record: the node starts with what it can read, names the file and offset, keeps the file', async () => {
    const dir = tempDir();
    try {
      let b = await startBroker({ dataDir: dir, config: periodic });
      try {
        const pub = await connectClient(b.port);
        for (let i = 0; i < 10; i++) await publish(pub, `d/${i}`, `first${i}`, { qos: 1, retain: true });
        await end(pub);
      } finally {
        await b.node.stop();
      }
      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        const pub = await connectClient(b.port);
        for (let i = 8; i < 12; i++) await publish(pub, `d/${i}`, `second${i}`, { qos: 1, retain: true });
        await end(pub);
      } finally {
        await b.node.stop();
      }
      const segs = readdirSync(join(dir, 'retained')).sort();
      assert.equal(segs.length, 2);
      const damaged = join(dir, 'retained', segs[0]!);
      const bytes = readFileSync(damaged);
      // The payload of d/5 ("first5"), the sixth of ten records of one size.
      const at = bytes.indexOf('first5');
      bytes[at] ^= 0x20;
      writeFileSync(damaged, bytes);

      const logs = captureLogs('warn');
      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        const [line] = logs.matching('damaged record');
        assert.equal(line.file, damaged);
        assert.ok(line.offset > 8 && line.offset < at, String(line.offset));
        const topics = b.node.retainer.all().map((m) => `${m.topic}=${m.payload}`);
        assert.deepEqual(topics, [
          'd/0=first0',
          'd/1=first1',
          'd/10=second10',
          'd/11=second11',
          'd/2=first2',
          'd/3=first3',
          'd/4=first4',
          'd/8=second8',
          'd/9=second9',
        ]);
        // The replacing snapshot is written and the damaged file kept beside it.
        for (let i = 0; i < 50 && !existsSync(`${damaged}.corrupt`); i++) await sleep(20);
        assert.ok(existsSync(`${damaged}.corrupt`));
      } finally {
        await b.node.stop();
        logs.restore();
      }
      const again = captureLogs('warn');
      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        assert.equal(again.matching('damaged record').length, 0);
        assert.equal(b.node.retainer.all().length, 9);
      } finally {
        await b.node.stop();
        again.restore();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
