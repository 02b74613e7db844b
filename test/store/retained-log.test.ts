/**
 * The retained log's records and segments on their own: what is written reads back field for field, the
 * decoder survives any bytes (fast-check), a record cut short at a segment's end is dropped with a warning,
 * and a damaged record in the middle stops that segment with an error naming the file and offset.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CLEAR,
  CORRUPT,
  decodeRecord,
  emptyRecord,
  NEED_MORE,
  RecordWriter,
  RetainedLog,
  type RetainedRecord,
  readRetainedLog,
  SET,
  SegmentReader,
} from '../../src/store/retained-log.js';
import { captureLogs } from '../helpers/log-capture.js';

const record = fc.record({
  kind: fc.constantFrom(SET, CLEAR),
  topic: fc.string({ unit: 'binary', maxLength: 40 }),
  qos: fc.integer({ min: 0, max: 2 }),
  publishAt: fc.integer({ min: 0, max: 2 ** 47 }),
  expiresAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 47 })),
  from: fc.string({ unit: 'binary', maxLength: 30 }),
  username: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  props: fc.option(fc.json({ maxDepth: 2 }), { nil: null }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

type Input = Omit<RetainedRecord, 'payload'> & { payload: Buffer };

function write(w: RecordWriter, r: Input): void {
  if (r.kind === CLEAR) w.clear(r.topic);
  else w.set(r.topic, r.payload, r.qos, r.props, r.from, r.username, r.publishAt, r.expiresAt);
}

/** What a record reads back as (lone surrogates become U+FFFD in UTF-8, as everywhere in Node). */
function expected(r: Input): Input {
  const utf8 = (s: string) => Buffer.from(s).toString();
  if (r.kind === CLEAR)
    return { ...emptyRecord(), kind: CLEAR, topic: utf8(r.topic), from: '', payload: Buffer.alloc(0) };
  return {
    ...r,
    topic: utf8(r.topic),
    from: utf8(r.from),
    username: r.username === null ? null : utf8(r.username),
    props: r.props === null ? null : utf8(r.props),
  };
}

function decodeAll(b: Buffer): { records: Input[]; end: number } {
  const records: Input[] = [];
  const out = emptyRecord();
  let at = 0;
  for (;;) {
    const next = decodeRecord(b, at, b.length, out);
    if (next < 0) return { records, end: next === NEED_MORE ? at : next };
    records.push({ ...out, payload: Buffer.from(out.payload) });
    at = next;
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hermod-retlog-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('retained log records', () => {
  it('read back field for field, in order', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (rs) => {
        const w = new RecordWriter();
        for (const r of rs) write(w, r);
        const { records } = decodeAll(w.bytes());
        assert.deepEqual(records, rs.map(expected));
      }),
    );
  });

  it('decoding arbitrary bytes never throws and never reads past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(400), (bytes, from) => {
        const b = Buffer.from(bytes);
        const at = Math.min(from, b.length);
        const next = decodeRecord(b, at, b.length, emptyRecord());
        assert.ok(next === NEED_MORE || next === CORRUPT || (next > at && next <= b.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('a changed byte is never read as another record: CORRUPT, NEED_MORE or the same record', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, where, xor) => {
        const w = new RecordWriter();
        write(w, r);
        const b = Buffer.from(w.bytes());
        const i = where % b.length;
        b[i] = b[i]! ^ xor;
        const out = emptyRecord();
        const next = decodeRecord(b, 0, b.length, out);
        if (next >= 0) assert.deepEqual({ ...out, payload: Buffer.from(out.payload) }, expected(r));
      }),
      { numRuns: 2000 },
    );
  });

  it('valid records followed by garbage decode, then stop', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 5 }), fc.uint8Array({ maxLength: 64 }), (rs, junk) => {
        const w = new RecordWriter();
        for (const r of rs) write(w, r);
        const { records } = decodeAll(Buffer.concat([w.bytes(), junk]));
        assert.ok(records.length >= rs.length);
        assert.deepEqual(records.slice(0, rs.length), rs.map(expected));
      }),
    );
  });
});

/** A log dir with one delta segment holding `n` set records of `t/<i>`. */
function logWith(n: number): { dir: string; file: string } {
  const dir = tempDir();
  const log = RetainedLog.open(dir);
  const w = new RecordWriter();
  for (let i = 0; i < n; i++) w.set(`t/${i}`, Buffer.from(`v${i}`), 1, null, 'c', null, 1000 + i, 0);
  log.append(w.bytes());
  log.close();
  const file = join(dir, readdirSync(dir)[0]!);
  return { dir, file };
}

describe('retained log segments', () => {
  it('a record cut short at the end of a segment is dropped with a warning, at every cut', () => {
    const { dir, file } = logWith(3);
    const whole = readFileSync(file);
    const w = new RecordWriter();
    w.set('t/2', Buffer.from('v2'), 1, null, 'c', null, 1002, 0);
    const last = w.bytes().length;
    for (let cut = 1; cut < last; cut++) {
      writeFileSync(file, whole.subarray(0, whole.length - cut));
      const logs = captureLogs('warn');
      try {
        const live = readRetainedLogLoud(dir);
        assert.deepEqual([...live.keys()], ['t/0', 't/1'], `cut ${cut}`);
        assert.equal(logs.matching('cut short').length, 1, `cut ${cut}`);
        assert.equal(logs.matching('cut short')[0].offset, whole.length - last);
      } finally {
        logs.restore();
      }
    }
  });

  it('a damaged record in the middle stops the segment with an error naming file and offset', () => {
    const { file } = logWith(3);
    const b = readFileSync(file);
    const w = new RecordWriter();
    w.set('t/0', Buffer.from('v0'), 1, null, 'c', null, 1000, 0);
    const first = 8 + w.bytes().length;
    // A payload byte of the second record.
    b[first + w.bytes().length - 1] ^= 0xff;
    writeFileSync(file, b);
    const logs = captureLogs('warn');
    try {
      const size = b.length;
      const r = new SegmentReader(file, size);
      const topics: string[] = [];
      while (r.readSlice((rec) => topics.push(rec.topic)));
      assert.deepEqual(topics, ['t/0']);
      assert.equal(r.corruptAt, first);
      const [line] = logs.matching('damaged record');
      assert.equal(line.file, file);
      assert.equal(line.offset, first);
    } finally {
      logs.restore();
    }
  });

  it('a segment whose header was cut short reads as empty; one that is not a log is an error', () => {
    const { dir, file } = logWith(2);
    truncateSync(file, 5);
    assert.equal(readRetainedLog(dir).size, 0);
    writeFileSync(file, 'not a log at all');
    assert.throws(() => RetainedLog.open(dir), /not a Hermod retained log/);
  });

  it('a start appends to a new segment, never after the torn tail a crash left', () => {
    const { dir, file } = logWith(3);
    truncateSync(file, readFileSync(file).length - 3);
    const log = RetainedLog.open(dir);
    const w = new RecordWriter();
    w.set('t/9', Buffer.from('v9'), 0, null, 'c', null, 2000, 0);
    log.append(w.bytes());
    log.close();
    assert.equal(readdirSync(dir).length, 2);
    assert.deepEqual([...readRetainedLog(dir).keys()], ['t/0', 't/1', 't/9']);
  });
});

/** readRetainedLog, with the segment readers' log lines (it is quiet by default). */
function readRetainedLogLoud(dir: string): Map<string, RetainedRecord> {
  const out = new Map<string, RetainedRecord>();
  const log = RetainedLog.open(dir);
  for (const s of log.replay) {
    const r = new SegmentReader(s.file, s.size);
    while (r.readSlice((rec) => (rec.kind === SET ? out.set(rec.topic, rec) : out.delete(rec.topic))));
  }
  log.close();
  return out;
}

/**
 * The log's side of a compaction against a model: sets, clears, flushes, compaction slices, restarts in any
 * order. A compaction keeps a record when it is the model's current value (as the retainer's isLive does,
 * against its index, which runs ahead of the flushes); what the files hold at the end is the model.
 */
describe('retained log compaction (model-based)', () => {
  const op = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ t: fc.constant('set'), k: fc.nat(7), v: fc.string({ maxLength: 6 }) }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('clear'), k: fc.nat(7) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('flush') }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('compact') }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('step') }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('finish') }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('restart') }) },
  );

  it('the files hold the live set after any interleaving', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const dir = tempDir();
        const model = new Map<string, { v: string; at: number }>();
        let clock = 1;
        let log = RetainedLog.open(dir);
        const batch = new RecordWriter();
        let compaction: { sources: SegmentReader[]; i: number } | undefined;
        const flush = () => {
          log.append(batch.bytes());
          batch.reset();
        };
        const step = (): boolean => {
          const c = compaction!;
          const src = c.sources[c.i];
          if (src === undefined) return false;
          const out = new RecordWriter();
          const more = src.readSlice((r) => {
            const m = model.get(r.topic);
            if (r.kind === SET && m !== undefined && m.at === r.publishAt && m.v === r.payload.toString())
              out.raw(src.frame());
          });
          log.writeSnapshot(out.bytes());
          if (!more) c.i++;
          return true;
        };
        const finish = () => {
          while (step());
          flush();
          log.finishCompaction();
          compaction = undefined;
        };
        for (const o of ops) {
          if (o.t === 'set') {
            const at = clock++;
            model.set(`k${o.k}`, { v: o.v, at });
            batch.set(`k${o.k}`, Buffer.from(o.v), 0, null, 'c', null, at, 0);
          } else if (o.t === 'clear') {
            model.delete(`k${o.k}`);
            batch.clear(`k${o.k}`);
          } else if (o.t === 'flush') flush();
          else if (o.t === 'compact' && compaction === undefined)
            compaction = { sources: log.startCompaction(), i: 0 };
          else if (o.t === 'step' && compaction !== undefined) step();
          else if (o.t === 'finish' && compaction !== undefined) finish();
          else if (o.t === 'restart') {
            flush();
            log.close();
            compaction = undefined;
            log = RetainedLog.open(dir);
          }
        }
        if (compaction !== undefined) finish();
        flush();
        log.close();
        const onDisk = new Map([...readRetainedLog(dir)].map(([t, r]) => [t, r.payload.toString()]));
        assert.deepEqual(onDisk, new Map([...model].map(([t, m]) => [t, m.v])));
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 300 },
    );
  });
});
