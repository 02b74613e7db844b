/**
 * Reading the embedded store's retained messages at start-up, in slices: between two slices the event loop
 * runs, so the MQTT listeners accept connections while the rest loads (the node starts the slices once the
 * listeners are open). Whoever needs the whole set (a SUBSCRIBE, the API) calls finish(), which reads what is
 * left at once, so nothing sees a partly loaded set; a retained PUBLISH meanwhile goes into memory and the
 * load skips that topic's older row (retainer.ts). 100 000 rows take ~0.4 s of CPU here, which a restarting
 * node's first CONNACK used to wait for (retained-restart curve, 2026-12-04).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.js';

/** A stored row as the load reads it (raw: the columns of PAGE_SQL, in order). */
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

export class RetainedLoad {
  private readonly page: Statement;
  private readonly lastRowid: number;
  private readRowid = 0;
  private timer: NodeJS.Immediate | undefined;
  private finished = false;
  private resolveDone!: () => void;
  /** Settles when every row was read (or the load was cancelled). */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  /**
   * `each` gets every row in rowid order; `slice` is called after each slice's rows (the statement is then
   * free, e.g. to delete expired rows), `end` once after the last.
   */
  constructor(
    db: Db,
    private readonly each: (row: RetainedRow) => void,
    private readonly slice: () => void,
    private readonly end: () => void,
  ) {
    this.page = db.prepare(PAGE_SQL).raw(true);
    const max = db.prepare('SELECT max(rowid) FROM retained').pluck().get() as number | null;
    this.lastRowid = max ?? 0;
  }

  /** True until every row was read. */
  get pending(): boolean {
    return !this.finished;
  }

  /** Reads the rows a slice at a time, yielding to the event loop between slices. */
  inBackground(): void {
    if (this.finished || this.timer !== undefined) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      if (this.readSlice()) this.inBackground();
    });
  }

  /** Reads every row not read yet, now. */
  finish(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    while (this.readSlice());
  }

  /** Stops reading (the node stops before the load ended); the rows stay in the store. */
  cancel(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    this.finished = true;
    this.resolveDone();
  }

  /** One slice; false once there is nothing left. */
  private readSlice(): boolean {
    if (this.finished) return false;
    const rows = this.page.all(this.readRowid, this.lastRowid) as RetainedRow[];
    for (const r of rows) this.each(r);
    if (rows.length > 0) this.readRowid = rows[rows.length - 1]![0];
    this.slice();
    if (rows.length < SLICE_ROWS) {
      this.finished = true;
      this.end();
      this.resolveDone();
      return false;
    }
    return true;
  }
}
