/**
 * Reading the stored retained messages at start-up, in slices: between two slices the event loop runs, so
 * the MQTT listeners accept connections while the rest loads (the node starts the slices once the listeners
 * are open). Whoever needs the whole set (a SUBSCRIBE, the API) calls finish(), which reads what is left at
 * once, so nothing sees a partly loaded set; a retained PUBLISH meanwhile goes into memory and the load skips
 * that topic's older record (retainer.ts). 100 000 rows took ~0.4 s of CPU here, which a restarting node's
 * first CONNACK used to wait for (retained-restart curve, 2026-12-04).
 *
 * The slices come from steps run in order (the SQLite table of an older Hermod while it is migrated, then
 * each segment of the retained log, store/retained-log.ts); each step reads one slice per call.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.js';

/** A stored row as the table reader reads it (raw: the columns of PAGE_SQL, in order). */
export type RetainedRow = [
  rowid: number,
  topic: string,
  payload: Buffer,
  qos: number,
  props: string | null,
  from_clientid: string,
  from_username: string | null,
  publish_at: number,
  expires_at: number,
];

/**
 * Rows per slice: ~3–4 ms of CPU each here, short enough that a CONNECT waiting behind one is not noticed, long
 * enough that the page queries cost nothing next to the rows (one query per 2 000 rows).
 */
const SLICE_ROWS = 2000;

/** Pages by rowid (the table's own b-tree: no sort) up to the last row present when the load began. */
const PAGE_SQL = `SELECT rowid, topic, payload, qos, props, from_clientid, from_username, publish_at, expires_at
  FROM retained WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ${SLICE_ROWS}`;

/** The `retained` table of an older Hermod, read by rowid a page at a time. */
export class RetainedTableReader {
  private readonly page: Statement;
  private readonly lastRowid: number;
  private readRowid = 0;

  constructor(db: Db) {
    this.page = db.prepare(PAGE_SQL).raw(true);
    const max = db.prepare('SELECT max(rowid) FROM retained').pluck().get() as number | null;
    this.lastRowid = max ?? 0;
  }

  /** True when the table has rows. */
  get rows(): boolean {
    return this.lastRowid > 0;
  }

  /** One page of rows into `each`; false once there is nothing left. */
  readSlice(each: (row: RetainedRow) => void): boolean {
    if (this.readRowid >= this.lastRowid) return false;
    const rows = this.page.all(this.readRowid, this.lastRowid) as RetainedRow[];
    for (const r of rows) each(r);
    if (rows.length > 0) this.readRowid = rows[rows.length - 1]![0];
    if (rows.length < SLICE_ROWS) this.readRowid = this.lastRowid;
    return this.readRowid < this.lastRowid;
  }
}

/** Runs slices, one per event-loop turn or all at once; `end` runs once after the last. */
export class SlicedWork {
  private step = 0;
  private timer: NodeJS.Immediate | undefined;
  private finished = false;
  private resolveDone!: () => void;
  /** Settles when every step ended (or the work was cancelled). */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  /** Each step does one slice per call and returns false once it has nothing left. */
  constructor(
    private readonly steps: Array<() => boolean>,
    private readonly end: () => void,
  ) {}

  /** True until every step ended. */
  get pending(): boolean {
    return !this.finished;
  }

  /** Runs the slices, yielding to the event loop between them. */
  inBackground(): void {
    if (this.finished || this.timer !== undefined) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      if (this.slice()) this.inBackground();
    });
  }

  /** Runs every slice left, now. */
  finish(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    while (this.slice());
  }

  /** Stops (the node stops before the work ended). */
  cancel(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    this.finished = true;
    this.resolveDone();
  }

  /** One slice; false once there is nothing left. */
  private slice(): boolean {
    if (this.finished) return false;
    while (this.step < this.steps.length) {
      if (this.steps[this.step]!()) return true;
      this.step++;
      // The next step's first slice waits for the next turn.
      if (this.step < this.steps.length) return true;
    }
    this.finished = true;
    try {
      this.end();
    } finally {
      this.resolveDone();
    }
    return false;
  }
}
