/**
 * Retained messages on disk as an append-only log (`<data_dir>/retained/<seq>.log`) instead of SQLite
 * upserts: each checkpoint appends its batch of changes (set or clear) with one write, and one fdatasync
 * when durability is sync. The upserts cost 1.8–2.4 µs of CPU per row at each checkpoint, the whole gap of the
 * on-disk store rate to Mosquitto (bench/retained-rate.ts --disk, 2026-12-05).
 *
 * Files ("segments"): each start appends to a new segment, so a segment a crash left with a torn tail is
 * never written again. A compaction writes the live set into `<seq>.log.tmp`, fsyncs it and renames it to a
 * segment whose header says "snapshot": a start replays the latest snapshot and the segments after it, in
 * order, and deletes the older ones (left over when a crash came between the rename and their deletion).
 *
 * Record: u32 body length, u32 CRC-32 of the body, body. Body: u8 kind (1 set, 2 clear), u8 qos, u8 flags
 * (1 username present, 2 props present), u8 0, f64 publish time, f64 expiry (0 never), u32 lengths of topic,
 * client id, username, props (JSON, see json-buffers.ts) and payload, then those bytes in that order.
 *
 * Damage: a record cut short at the end of a segment (the process died in a write) is ignored with a
 * warning. A record that fails its CRC with more bytes after it is corruption, not a crash: the rest of that
 * segment is not read, an error names the file and offset, and the file is kept (renamed `.corrupt`) when the
 * next compaction replaces it, for whoever wants to look; the node keeps running with what it could read.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-files.js';
import { crc32 } from './crc32.js';

export const SET = 1;
export const CLEAR = 2;

/** A decoded record. The payload is a view of the reader's buffer: copy it to keep it. */
export interface RetainedRecord {
  kind: number;
  topic: string;
  qos: number;
  publishAt: number;
  expiresAt: number;
  from: string;
  username: string | null;
  props: string | null;
  payload: Buffer;
}

const FRAME = 8;
const FIXED = 40;
/** Larger than any MQTT packet (256 MB): a length above it is damage, not a record. */
const MAX_BODY = 300 * 1024 * 1024;
const MAGIC = 0x484d524c; // "HMRL"
const VERSION = 1;
const HEADER = 8;
const DELTA = 0;
const SNAPSHOT = 1;
export const NEED_MORE = -1;
export const CORRUPT = -2;

/** Encodes records into one growing buffer: a checkpoint's batch, written with one write. */
export class RecordWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private used = 0;

  get length(): number {
    return this.used;
  }

  set(
    topic: string,
    payload: Buffer,
    qos: number,
    props: string | null,
    from: string,
    username: string | null,
    publishAt: number,
    expiresAt: number,
  ): number {
    const tl = Buffer.byteLength(topic);
    const fl = Buffer.byteLength(from);
    const ul = username === null ? 0 : Buffer.byteLength(username);
    const pl = props === null ? 0 : Buffer.byteLength(props);
    const body = FIXED + tl + fl + ul + pl + payload.length;
    const b = this.room(FRAME + body);
    const at = this.used;
    const s = at + FRAME;
    b[s] = SET;
    b[s + 1] = qos;
    b[s + 2] = (username === null ? 0 : 1) | (props === null ? 0 : 2);
    b[s + 3] = 0;
    b.writeDoubleLE(publishAt, s + 4);
    b.writeDoubleLE(expiresAt, s + 12);
    b.writeUInt32LE(tl, s + 20);
    b.writeUInt32LE(fl, s + 24);
    b.writeUInt32LE(ul, s + 28);
    b.writeUInt32LE(pl, s + 32);
    b.writeUInt32LE(payload.length, s + 36);
    let p = s + FIXED;
    p += b.write(topic, p, tl, 'utf8');
    p += b.write(from, p, fl, 'utf8');
    if (username !== null) p += b.write(username, p, ul, 'utf8');
    if (props !== null) p += b.write(props, p, pl, 'utf8');
    payload.copy(b, p);
    this.seal(at, body);
    return FRAME + body;
  }

  clear(topic: string): void {
    const tl = Buffer.byteLength(topic);
    const body = FIXED + tl;
    const b = this.room(FRAME + body);
    const at = this.used;
    b.fill(0, at + FRAME, at + FRAME + FIXED);
    b[at + FRAME] = CLEAR;
    b.writeUInt32LE(tl, at + FRAME + 20);
    b.write(topic, at + FRAME + FIXED, tl, 'utf8');
    this.seal(at, body);
  }

  /** Raw record bytes (a frame read elsewhere), copied as they are. */
  raw(frame: Buffer): void {
    const b = this.room(frame.length);
    frame.copy(b, this.used);
    this.used += frame.length;
  }

  /** The records so far (a view, valid until the next write or reset). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  reset(): void {
    this.used = 0;
    // A batch of a million topics should not keep its buffer for ever.
    if (this.buf.length > 16 * 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
  }

  private seal(at: number, body: number): void {
    this.buf.writeUInt32LE(body, at);
    this.buf.writeUInt32LE(crc32(this.buf.subarray(at + FRAME, at + FRAME + body)), at + 4);
    this.used = at + FRAME + body;
  }

  private room(n: number): Buffer {
    if (this.used + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    return this.buf;
  }
}

/**
 * Decodes the record at `at` (bytes up to `end`) into `out`. Returns the offset after it, NEED_MORE when the
 * bytes end inside it, CORRUPT when it cannot be a record this writer wrote. Never throws.
 */
export function decodeRecord(b: Buffer, at: number, end: number, out: RetainedRecord): number {
  if (end - at < FRAME) return NEED_MORE;
  const body = b.readUInt32LE(at);
  if (body < FIXED || body > MAX_BODY) return CORRUPT;
  const s = at + FRAME;
  if (end - s < body) return NEED_MORE;
  if (crc32(b.subarray(s, s + body)) !== b.readUInt32LE(at + 4)) return CORRUPT;
  const kind = b[s]!;
  const qos = b[s + 1]!;
  const flags = b[s + 2]!;
  if ((kind !== SET && kind !== CLEAR) || qos > 2 || flags > 3) return CORRUPT;
  const tl = b.readUInt32LE(s + 20);
  const fl = b.readUInt32LE(s + 24);
  const ul = b.readUInt32LE(s + 28);
  const pl = b.readUInt32LE(s + 32);
  const yl = b.readUInt32LE(s + 36);
  if (FIXED + tl + fl + ul + pl + yl !== body) return CORRUPT;
  if ((flags & 1) === 0 && ul !== 0) return CORRUPT;
  if ((flags & 2) === 0 && pl !== 0) return CORRUPT;
  let p = s + FIXED;
  out.kind = kind;
  out.qos = qos;
  out.publishAt = b.readDoubleLE(s + 4);
  const expiresAt = b.readDoubleLE(s + 12);
  // A literal 0 (a small integer), not the double read: kept on each loaded message, a double 0 is a heap
  // number of its own (seen with %DebugPrint on a loaded message, 2026-12-05).
  out.expiresAt = expiresAt === 0 ? 0 : expiresAt;
  out.topic = b.toString('utf8', p, p + tl);
  p += tl;
  out.from = b.toString('utf8', p, p + fl);
  p += fl;
  out.username = (flags & 1) === 0 ? null : b.toString('utf8', p, p + ul);
  p += ul;
  out.props = (flags & 2) === 0 ? null : b.toString('utf8', p, p + pl);
  p += pl;
  out.payload = b.subarray(p, p + yl);
  return s + body;
}

export function emptyRecord(): RetainedRecord {
  return {
    kind: 0,
    topic: '',
    qos: 0,
    publishAt: 0,
    expiresAt: 0,
    from: '',
    username: null,
    props: null,
    payload: Buffer.alloc(0),
  };
}

function header(kind: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32BE(MAGIC, 0);
  h[4] = VERSION;
  h[5] = kind;
  return h;
}

/** Records a slice at most: ~2–3 ms of the retainer's work per slice here (as retained-load.ts's pages). */
const SLICE_RECORDS = 4000;
const CHUNK = 1024 * 1024;

/**
 * Reads one segment's records in slices, up to the size it had when the reader was made (a segment still
 * being appended to is read up to there).
 */
export class SegmentReader {
  private fd: number | undefined;
  private buf = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private end = 0;
  /** File offset of buf[end]. */
  private pos = HEADER;
  private readonly rec = emptyRecord();
  /** End of the record being passed to readSlice's callback (it starts at `start`). */
  private frameEnd = 0;
  /** Set when a record in the middle was damaged (the rest of the file was not read). */
  corruptAt: number | undefined;
  /** Bytes of SET records read (for the live-size estimate). */
  setBytes = 0;
  setCount = 0;

  constructor(
    readonly file: string,
    private readonly size: number,
    private readonly quiet = false,
  ) {}

  /** Reads up to a slice of records into `each`; false once the segment is done. */
  readSlice(each: (r: RetainedRecord) => void): boolean {
    if (this.fd === undefined) {
      if (this.size <= HEADER) return false;
      this.fd = openSync(this.file, 'r');
    }
    let n = 0;
    while (n < SLICE_RECORDS) {
      const next = decodeRecord(this.buf, this.start, this.end, this.rec);
      if (next >= 0) {
        if (this.rec.kind === SET) {
          this.setBytes += next - this.start;
          this.setCount++;
        }
        this.frameEnd = next;
        each(this.rec);
        this.start = next;
        n++;
        continue;
      }
      const offset = this.pos - (this.end - this.start);
      if (next === NEED_MORE && this.pos < this.size) {
        this.refill();
        continue;
      }
      if (next === NEED_MORE) {
        if (this.end > this.start && !this.quiet)
          logger.warn(
            { file: this.file, offset, bytes: this.end - this.start },
            'retainer: a record cut short at the end of the retained log ignored (a crash during its write)',
          );
      } else {
        this.corruptAt = offset;
        if (!this.quiet)
          logger.error(
            { file: this.file, offset, unread: this.size - offset },
            'retainer: damaged record in the retained log; the rest of this file is not loaded (the file is kept as .corrupt)',
          );
      }
      this.close();
      return false;
    }
    return true;
  }

  /**
   * The raw bytes of the record readSlice's callback was given, valid during that call (a compaction copies
   * them as they are). Made on demand: a view per record would be one more object per record of every load.
   */
  frame(): Buffer {
    return this.buf.subarray(this.start, this.frameEnd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.start = this.end = 0;
    this.pos = this.size;
  }

  /** Moves the unread bytes to the front (into a larger buffer when one record needs it) and reads more. */
  private refill(): void {
    const left = this.end - this.start;
    let need = CHUNK;
    if (left >= FRAME) need = Math.max(need, FRAME + this.buf.readUInt32LE(this.start));
    const target = need > this.buf.length ? Buffer.allocUnsafe(need) : this.buf;
    this.buf.copy(target, 0, this.start, this.end);
    this.buf = target;
    this.start = 0;
    this.end = left;
    const want = Math.min(this.buf.length - left, this.size - this.pos);
    const got = readSync(this.fd!, this.buf, left, want, this.pos);
    this.end += got;
    this.pos += got;
    // A file shorter than its size at open (cannot happen to a segment no one writes): stop there.
    if (got === 0) this.pos = this.size;
  }
}

interface Segment {
  seq: number;
  file: string;
  size: number;
}

/**
 * The segments of `dir` in order, and the index of the latest snapshot (0 when there is none). Reads only
 * headers; changes nothing.
 */
function scan(dir: string): { all: Array<Segment & { snapshot: boolean }>; from: number } {
  const all: Array<Segment & { snapshot: boolean }> = [];
  for (const f of readdirSync(dir)) {
    const m = SEGMENT.exec(f);
    if (m === null) continue;
    const file = join(dir, f);
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const h = Buffer.alloc(HEADER);
      // A header cut short: the segment was created just before a crash, with nothing in it.
      const got = size >= HEADER ? readSync(fd, h, 0, HEADER, 0) : 0;
      if (got === HEADER && h.readUInt32BE(0) !== MAGIC)
        throw new Error(`${file}: not a Hermod retained log (bad magic); move it away to start`);
      if (got === HEADER && h[4] !== VERSION)
        throw new Error(`${file}: retained log version ${h[4]} is not readable by this Hermod`);
      all.push({ seq: Number(m[1]), file, size: got === HEADER ? size : 0, snapshot: h[5] === SNAPSHOT });
    } finally {
      closeSync(fd);
    }
  }
  all.sort((a, b) => a.seq - b.seq);
  let from = 0;
  for (let i = all.length - 1; i >= 0; i--)
    if (all[i]!.snapshot) {
      from = i;
      break;
    }
  return { all, from };
}

const SEGMENT = /^(\d{10})\.log$/;
const name = (seq: number) => `${String(seq).padStart(10, '0')}.log`;

/** The retained log of one data dir: its segments and the one appended to. */
export class RetainedLog {
  /** fdatasync after each append (durability sync). */
  fsync = false;
  /** Segments to replay at start (the latest snapshot and the ones after it), in order. */
  readonly replay: Segment[];
  /** True once a snapshot exists (the SQLite table, if any, was migrated). */
  hasSnapshot: boolean;
  private current: { seq: number; file: string; fd: number; size: number } | undefined;
  private nextSeq: number;
  /** Bytes of every segment from the latest snapshot on, the one appended to included. */
  bytes = 0;
  private snapshot: { seq: number; file: string; fd: number; size: number } | undefined;
  /** Batches appended while a compaction runs: they follow its snapshot. */
  private tail: Buffer[] | undefined;
  private readonly corrupt = new Set<string>();

  private constructor(
    readonly dir: string,
    replay: Segment[],
    hasSnapshot: boolean,
    nextSeq: number,
  ) {
    this.replay = replay;
    this.hasSnapshot = hasSnapshot;
    this.nextSeq = nextSeq;
    for (const s of replay) this.bytes += s.size;
  }

  /** Opens the log under `dir`, dropping segments older than the latest snapshot and unfinished snapshots. */
  static open(dir: string): RetainedLog {
    ensurePrivateDir(dir);
    for (const f of readdirSync(dir)) if (f.endsWith('.log.tmp')) rmSync(join(dir, f), { force: true });
    const { all, from } = scan(dir);
    for (const s of all.slice(0, from)) rmSync(s.file, { force: true });
    const replay = all.slice(from).map(({ seq, file, size }) => ({ seq, file, size }));
    return new RetainedLog(dir, replay, all[from]?.snapshot === true, (all.at(-1)?.seq ?? 0) + 1);
  }

  /** Segments kept: with a damaged record they are renamed `.corrupt` instead of deleted. */
  markCorrupt(file: string): void {
    this.corrupt.add(file);
  }

  /** Appends a batch of records; on failure the segment is cut back to where it was (no torn record left). */
  append(batch: Buffer): void {
    if (batch.length === 0) return;
    const cur = this.current ?? this.create();
    try {
      let done = 0;
      while (done < batch.length)
        done += writeSync(cur.fd, batch, done, batch.length - done, cur.size + done);
      if (this.fsync) fdatasyncSync(cur.fd);
    } catch (err) {
      try {
        ftruncateSync(cur.fd, cur.size);
      } catch {
        // The write's error is the one to report.
      }
      throw err;
    }
    cur.size += batch.length;
    this.bytes += batch.length;
    if (this.tail !== undefined) this.tail.push(Buffer.from(batch));
  }

  /**
   * Starts a compaction: its snapshot file is opened, and the segments it reads are returned (every replayed
   * one, and the current one up to its present size); batches appended from now on are kept to follow the
   * snapshot.
   */
  startCompaction(): SegmentReader[] {
    const seq = this.nextSeq++;
    const file = join(this.dir, name(seq));
    const fd = openSync(`${file}.tmp`, 'w', PRIVATE_FILE_MODE);
    this.snapshot = { seq, file, fd, size: 0 };
    this.tail = [];
    this.writeSnapshot(header(SNAPSHOT));
    const sources = this.replay.map((s) => new SegmentReader(s.file, s.size, true));
    if (this.current !== undefined)
      sources.push(new SegmentReader(this.current.file, this.current.size, true));
    return sources;
  }

  /** Appends live records to the snapshot being written. */
  writeSnapshot(b: Buffer): void {
    const snap = this.snapshot!;
    let done = 0;
    while (done < b.length) done += writeSync(snap.fd, b, done, b.length - done, snap.size + done);
    snap.size += b.length;
  }

  /** Drops a compaction that did not finish (the node stops, or it failed). */
  abandonCompaction(): void {
    const snap = this.snapshot;
    this.snapshot = undefined;
    this.tail = undefined;
    if (snap === undefined) return;
    closeSync(snap.fd);
    rmSync(`${snap.file}.tmp`, { force: true });
  }

  /**
   * Makes the snapshot (the live records at the compaction's start, then the batches appended since) the
   * segment appended to, durably (fsync, rename, fsync of the directory), and drops the segments it replaces.
   */
  finishCompaction(): void {
    const snap = this.snapshot!;
    try {
      for (const b of this.tail ?? []) this.writeSnapshot(b);
      fsyncSync(snap.fd);
      renameSync(`${snap.file}.tmp`, snap.file);
    } catch (err) {
      this.abandonCompaction();
      throw err;
    }
    this.snapshot = undefined;
    this.tail = undefined;
    this.syncDir();
    const old = [
      ...this.replay.map((s) => s.file),
      ...(this.current === undefined ? [] : [this.current.file]),
    ];
    if (this.current !== undefined) closeSync(this.current.fd);
    this.current = snap;
    this.replay.length = 0;
    this.hasSnapshot = true;
    this.bytes = snap.size;
    for (const f of old) {
      if (this.corrupt.has(f)) renameSync(f, `${f}.corrupt`);
      else rmSync(f, { force: true });
    }
    this.corrupt.clear();
  }

  close(): void {
    this.abandonCompaction();
    if (this.current !== undefined) {
      try {
        fsyncSync(this.current.fd);
      } finally {
        closeSync(this.current.fd);
      }
    }
    this.current = undefined;
  }

  private create(): { seq: number; file: string; fd: number; size: number } {
    const seq = this.nextSeq++;
    const file = join(this.dir, name(seq));
    const fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
    writeSync(fd, header(DELTA), 0, HEADER, 0);
    if (this.fsync) {
      fsyncSync(fd);
      this.syncDir();
    }
    this.current = { seq, file, fd, size: HEADER };
    this.bytes += HEADER;
    return this.current;
  }

  private syncDir(): void {
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }
}

/** Every live retained record of a data dir's log, read at once (tests and tools; the broker must be stopped or be this process). */
export function readRetainedLog(dir: string): Map<string, RetainedRecord> {
  const out = new Map<string, RetainedRecord>();
  if (!existsSync(dir)) return out;
  const { all, from } = scan(dir);
  for (const s of all.slice(from)) {
    const r = new SegmentReader(s.file, s.size, true);
    while (
      r.readSlice((rec) => {
        // Delete first: the map's order is then the order of the last change, as a replay has it.
        out.delete(rec.topic);
        if (rec.kind === SET) out.set(rec.topic, { ...rec, payload: Buffer.from(rec.payload) });
      })
    );
  }
  return out;
}
