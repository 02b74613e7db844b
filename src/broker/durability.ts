/**
 * Durability: persistent-session state and retained messages reach the embedded store while the broker
 * runs, not only at graceful stop. Changes are collected during an event-loop turn and committed together
 * at its end: one SQLite transaction (sessions) and one append to the retained log (retained messages,
 * store/retained-log.ts), one fsync each per batch however many messages it holds.
 *
 * - sync: the commit runs at the end of the turn (setImmediate) with synchronous = FULL, and every
 *   PUBACK/PUBREC asked for while a batch is pending is held until that batch is on disk.
 * - periodic: the commit runs every checkpoint_interval; acknowledgements are not held.
 * Clean sessions and non-retained traffic never touch the journal, so they neither wait nor allocate.
 */
import type { Statement } from 'better-sqlite3';
import type { DurabilityConfig } from '../config/schema/index.js';
import { logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { Broker, BrokerJournal } from './broker.js';
import type { SessionRecord } from './client-registry.js';
import type { Retainer } from './retainer.js';
import type { Session } from './session.js';
import { sessionState } from './session-store.js';

export class Durability implements BrokerJournal {
  private readonly tracked = new Map<Session, SessionRecord>();
  private readonly dirty = new Set<Session>();
  /** Sessions that have a row in the store; only their end costs a write (clean sessions never do). */
  private readonly stored = new WeakSet<Session>();
  /** Keys (namespace, clientid) whose stored session must go. */
  private readonly gone = new Map<string, [string, string]>();
  private held: Array<() => void> = [];
  private scheduled: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly upsert: Statement;
  private readonly remove: Statement;

  constructor(
    private readonly mode: 'sync' | 'periodic',
    intervalMs: number,
    private readonly db: Db,
    private readonly retainer: Retainer | undefined,
  ) {
    // FULL makes each commit fsync the WAL, so a committed batch survives power loss, not only kill -9.
    if (mode === 'sync') db.pragma('synchronous = FULL');
    this.upsert = db.prepare(
      `INSERT INTO sessions (namespace, clientid, state, saved_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(namespace, clientid) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`,
    );
    this.remove = db.prepare('DELETE FROM sessions WHERE namespace = ? AND clientid = ?');
    if (retainer !== undefined) {
      retainer.onPending = () => this.schedule();
      // As synchronous = FULL for the sessions: a batch of retained changes is fdatasync'ed before its acks.
      retainer.syncWrites = mode === 'sync';
    }
    if (mode === 'periodic') {
      this.timer = setInterval(() => this.commit(), Math.max(1, intervalMs));
      this.timer.unref();
    }
  }

  get holding(): boolean {
    return this.scheduled !== undefined;
  }

  hold(send: () => void): void {
    if (this.scheduled === undefined) send();
    else this.held.push(send);
  }

  opened(record: SessionRecord, stored = false): void {
    this.tracked.set(record.session, record);
    if (stored) this.stored.add(record.session);
  }

  ended(record: SessionRecord): void {
    const s = record.session;
    if (this.tracked.get(s) !== record) return;
    this.tracked.delete(s);
    this.dirty.delete(s);
    if (!this.stored.has(s)) return;
    this.stored.delete(s);
    this.gone.set(`${record.namespace}\u0000${s.clientid}`, [record.namespace, s.clientid]);
    this.schedule();
  }

  touch(session: Session): void {
    if (!this.tracked.has(session)) return;
    this.dirty.add(session);
    this.schedule();
  }

  /** Commits everything pending and stops the periodic timer (graceful stop). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.commit();
    if (this.retainer !== undefined) this.retainer.onPending = undefined;
  }

  /** Writes the pending batch in one transaction, then releases the acknowledgements that waited for it. */
  commit(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    // The retained log first: it catches its own errors, and the acknowledgements wait for both.
    if (this.retainer?.hasPending === true) this.retainer.flush();
    if (this.dirty.size > 0 || this.gone.size > 0) {
      const now = Date.now();
      const dirty = [...this.dirty];
      const gone = [...this.gone.values()];
      this.dirty.clear();
      this.gone.clear();
      try {
        this.db.transaction(() => {
          for (const [ns, id] of gone) this.remove.run(ns, id);
          for (const s of dirty) {
            const record = this.tracked.get(s);
            if (record === undefined) continue;
            if (s.expiryInterval > 0) {
              this.upsert.run(record.namespace, s.clientid, sessionState(record, now, true), now);
              this.stored.add(s);
            } else if (this.stored.delete(s)) this.remove.run(record.namespace, s.clientid);
          }
        })();
      } catch (err) {
        // The acknowledgements still go out: holding them for ever would stall every client of this node.
        logger.error({ err, sessions: dirty.length }, 'durability: committing to the store failed');
      }
    }
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    for (const send of held) send();
  }

  private schedule(): void {
    if (this.mode !== 'sync' || this.scheduled !== undefined) return;
    this.scheduled = setImmediate(() => this.commit());
  }
}

/**
 * Starts durability for a node per its config; undefined for mode = off (sessions are then written at
 * graceful stop only, retained messages by the retainer's own flush timer).
 */
export function startDurability(
  broker: Broker,
  db: Db,
  retainer: Retainer | undefined,
  config: DurabilityConfig,
): Durability | undefined {
  if (config.mode === 'off') return undefined;
  const d = new Durability(config.mode, config.checkpoint_interval, db, retainer);
  broker.journal = d;
  return d;
}
