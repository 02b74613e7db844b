/**
 * The retainer (EMQX `emqx_retainer`): stores the last retained message per topic and delivers matching
 * ones when a session subscribes. It works entirely through hooks (message.publish and session.subscribed at
 * priority 930), like any other extension. Messages live in memory; with storage_type = disc their changes
 * are also appended to the retained log next to the embedded store (store/retained-log.ts) in batches,
 * compacted when it holds much more than the live set, and replayed at boot. On a cluster node the cluster's retained
 * store (Broker.cluster.retained) takes the embedded store's place: every node holds the whole set.
 */
import { dirname, join } from 'node:path';
import type { RetainerConfig } from '../config/schema/index.js';
import { logger } from '../log.js';
import type { Db } from '../store/db.js';
import { RecordWriter, RetainedLog, type RetainedRecord, SET, SegmentReader } from '../store/retained-log.js';
import type { Broker } from './broker.js';
import { FROM_NODE_HEADER, type RetainedSeam } from './cluster-seam.js';
import { HookPriority, type STOP } from './hooks.js';
import { parseWithBuffers, stringifyWithBuffers } from './json-buffers.js';
import { Message } from './message.js';
import { feedRetained } from './retained-feed.js';
import { RetainedIndex } from './retained-index.js';
import { type RetainedRow, RetainedTableReader, SlicedWork } from './retained-load.js';
import { RetainedPayloads } from './retained-payloads.js';
import { hash } from './shared-sub.js';
import type { ClientInfo, MessageFlags, MessageHeaders, MessageProperties, SubOpts } from './types.js';

/** How long writes may wait before they are flushed to the store. */
const FLUSH_DELAY_MS = 50;

/**
 * A compaction starts once the log holds more than COMPACT_RATIO times the live set's estimated size, and at
 * least COMPACT_MIN_BYTES (below that a rewrite buys nothing), or after this many starts left segments.
 */
const COMPACT_RATIO = 2;
const COMPACT_MIN_BYTES = 16 * 1024 * 1024;
const COMPACT_SEGMENTS = 8;
const COMPACT_RETRY_MS = 60_000;

/** Slots of the stored-headers table (a power of two). */
const HEADER_SLOTS = 64;

/**
 * The flags of stored messages, one shared object per value of `sys`: an object per message was 48 of the
 * 497 heap bytes of each retained message (heap snapshot of the retained curve, 100 000 topics, 2026-12-04).
 * Frozen, as stored messages are never changed in place (a hook that changes one works on a copy, see
 * Message.withChanges): a write would fail loudly instead of changing every stored message.
 */
const STORED_FLAGS: readonly [MessageFlags, MessageFlags] = [
  Object.freeze({ retain: true, dup: false, sys: false }),
  Object.freeze({ retain: true, dup: false, sys: true }),
];

export class Retainer {
  private readonly index = new RetainedIndex();
  private readonly payloads = new RetainedPayloads();
  private flushTimer: NodeJS.Timeout | undefined;
  private clearTimer: NodeJS.Timeout | undefined;
  private readonly disposers: Array<() => void> = [];
  /** Scratch headers of a row being loaded (storedHeaders copies what it keeps). */
  private readonly who: MessageHeaders = {};
  private readonly headerSlots: Array<{ from: string; headers: MessageHeaders } | undefined> = new Array(
    HEADER_SLOTS,
  );
  /** The retained log (storage_type disc on a file store). */
  private log: RetainedLog | undefined;
  /**
   * The changes of the next flush, encoded as they happen, in their order (a replay then gives messages of
   * one millisecond back in publish order). A Map of topic → message, as the SQLite upserts needed, cost
   * ~0.7 µs per retained PUBLISH at 100 000 topics per checkpoint (retainer.ts `schedule` in
   * bench/retained-rate.ts --disk --profile, 2026-12-05); a topic changed twice in one checkpoint is now
   * written twice, which compaction absorbs.
   */
  private readonly batch = new RecordWriter();
  private batchRecords = 0;
  /** Bytes and count of SET records written or read: their mean sizes the live set for compaction. */
  private setBytes = 0;
  private setCount = 0;
  /** The start-up read of the stored set while it has records left (see retained-load.ts). */
  private loading: SlicedWork | undefined;
  /** A compaction under way (slices between other work). */
  private compaction: SlicedWork | undefined;
  /** No compaction starts by size before this time (one failed: a full disk is not retried at every flush). */
  private compactAfter = 0;
  /**
   * Topics set or cleared by a retained PUBLISH while the load runs: their stored rows are older, so the load
   * skips them. ($SYS publishes its retained topics as the node starts: completing the load for those would
   * keep the listeners closed until it ended.)
   */
  private readonly newerThanStore = new Set<string>();
  /** The cluster's store on a cluster node (then the embedded store is not used). */
  private seam: RetainedSeam | undefined;
  /**
   * When set (durability on), pending writes are announced here and flushed by the caller's commit
   * instead of the flush timer.
   */
  onPending: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private config: RetainerConfig,
    private readonly db: Db | undefined,
  ) {}

  /** True while retained changes wait to be written. */
  get hasPending(): boolean {
    return this.batchRecords > 0;
  }

  get count(): number {
    this.loaded();
    return this.index.size;
  }

  /**
   * Reads the stored messages start() left unread, a slice at a time between other work (see
   * retained-load.ts); settles once they are all in memory. The node calls it once its listeners are open:
   * slices taken earlier would only delay them, each one run between two module reads of a later component.
   */
  loadInBackground(): Promise<void> {
    if (this.loading === undefined) return Promise.resolve();
    this.loading.inBackground();
    return this.loading.done;
  }

  /**
   * Registers the hooks; the stored messages are read by loadInBackground(), or at once when something needs
   * them before.
   */
  start(): void {
    this.seam = this.broker.cluster?.retained;
    if (this.seam !== undefined) {
      this.seam.attach({
        put: (m) => {
          this.index.set(m);
          this.broker.metrics.setStat('retained', this.index.size);
        },
        remove: (topic) => {
          if (this.index.delete(topic)) this.broker.metrics.setStat('retained', this.index.size);
        },
      });
      if (this.seam.empty && this.db !== undefined && this.config.backend.storage_type === 'disc')
        this.importIntoCluster(this.seam);
    } else if (this.db !== undefined && this.config.backend.storage_type === 'disc' && !this.db.memory) {
      // An in-memory store (':memory:') survives nothing, so writing to it would only keep a second copy of
      // every retained message (141 bytes and 2.7 µs CPU each in SQLite: 100 000 rows of S5's shape, 2026-12-04).
      this.log = RetainedLog.open(retainedLogDir(this.db));
      this.load(this.log);
    }
    const hooks = this.broker.hooks;
    this.disposers.push(
      hooks.add('message.publish', (msg) => this.onPublish(msg), HookPriority.RETAINER, 'retainer'),
      hooks.add(
        'session.subscribed',
        (client, topic, opts) => this.onSubscribed(client, topic, opts),
        HookPriority.RETAINER,
        'retainer',
      ),
    );
    this.armClear();
    this.broker.metrics.setStat('retained', this.index.size);
  }

  /** Unregisters hooks and flushes pending writes. */
  stop(): void {
    this.loading?.cancel();
    this.loading = undefined;
    this.compaction?.cancel();
    this.compaction = undefined;
    this.newerThanStore.clear();
    for (const d of this.disposers.splice(0)) d();
    this.seam?.detach();
    if (this.clearTimer !== undefined) clearInterval(this.clearTimer);
    this.clearTimer = undefined;
    this.flush();
    try {
      this.log?.close();
    } catch (err) {
      logger.error({ err }, 'retainer: closing the retained log failed');
    }
    this.log = undefined;
  }

  /** Durability sync: each batch is on disk (fdatasync) before the acknowledgements it holds leave. */
  set syncWrites(on: boolean) {
    if (this.log !== undefined) this.log.fsync = on;
  }

  /** Rewrites the retained log as the live set (tests, and the log's growth); settles when it is done. */
  compact(): Promise<void> {
    this.loaded();
    if (this.log === undefined) return Promise.resolve();
    if (this.compaction === undefined) this.startCompaction(this.log, undefined);
    return this.compaction!.done;
  }

  /** Applies a new retainer config at runtime. */
  update(config: RetainerConfig): void {
    this.config = config;
    if (this.clearTimer !== undefined) clearInterval(this.clearTimer);
    this.clearTimer = undefined;
    this.armClear();
  }

  /** A retained message by exact topic (expired ones are invisible). */
  get(topic: string): Message | undefined {
    this.loaded();
    const m = this.index.get(topic);
    return m !== undefined && !m.isExpired(Date.now()) ? m : undefined;
  }

  /** Retained messages matching a filter, oldest publish first. */
  match(filter: string): Message[] {
    this.loaded();
    const now = Date.now();
    return this.index.match(filter).filter((m) => !m.isExpired(now));
  }

  /** Every retained message (for the API), by topic order. */
  all(): Message[] {
    this.loaded();
    const now = Date.now();
    return [...this.index.values()]
      .filter((m) => !m.isExpired(now))
      .sort((a, b) => (a.topic < b.topic ? -1 : 1));
  }

  /** Deletes one topic's retained message; returns false when there was none. */
  delete(topic: string): boolean {
    this.loaded();
    return this.forget(topic);
  }

  /** Removes a topic from the index and, when it was there, from the store. */
  private forget(topic: string): boolean {
    if (!this.index.delete(topic)) return false;
    this.schedule(topic, null);
    this.broker.metrics.setStat('retained', this.index.size);
    return true;
  }

  /** Deletes every retained message (or those matching a filter). Returns how many. */
  clean(filter?: string): number {
    this.loaded();
    const victims = filter === undefined ? [...this.index.values()] : this.index.match(filter);
    for (const m of victims) this.delete(m.topic);
    return victims.length;
  }

  /** Appends pending changes to the retained log in one write. */
  flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const log = this.log;
    const count = this.batchRecords;
    if (count === 0 || log === undefined) return;
    this.batchRecords = 0;
    try {
      log.append(this.batch.bytes());
    } catch (err) {
      logger.error({ err, count }, 'retainer: writing retained messages to the store failed');
    }
    this.batch.reset();
    this.compactIfLarge(log);
  }

  private onPublish(msg: Message): { stop: Message } | undefined {
    if (!msg.flags.retain || !this.config.enable) return undefined;
    // A copy from another node: its own node stored it.
    if (msg.headers[FROM_NODE_HEADER] !== undefined) return undefined;
    if (msg.payload.length === 0) {
      if (this.loading !== undefined) {
        // The stored row, read or not yet, is older: the load skips it, and it is deleted all the same.
        this.newerThanStore.add(msg.topic);
        if (!this.forget(msg.topic)) this.schedule(msg.topic, null);
      } else if (!this.delete(msg.topic)) {
        // A cluster node may not have seen the message yet: the cluster's store is cleared all the same.
        this.seam?.removed(msg.topic);
      }
      if (this.config.stop_publish_clear_msg) {
        // Only a delete: the empty message is not forwarded.
        const dropped = msg.withChanges({});
        dropped.headers.allow_publish = false;
        return { stop: dropped };
      }
      return undefined;
    }
    if (msg.payload.length > this.config.max_payload_size) {
      logger.warn(
        { topic: msg.topic, size: msg.payload.length, limit: this.config.max_payload_size },
        'retained message not stored: payload above retainer.max_payload_size',
      );
      return undefined;
    }
    const max = this.config.backend.max_retained_messages;
    // The limit counts the whole stored set.
    if (max > 0) this.loaded();
    if (max > 0 && this.index.size >= max && !this.index.has(msg.topic)) {
      logger.warn(
        { topic: msg.topic, limit: max },
        'retained message not stored: max_retained_messages reached',
      );
      return undefined;
    }
    const stored = this.toStored(msg);
    if (this.loading !== undefined) this.newerThanStore.add(stored.topic);
    this.index.set(stored);
    this.broker.metrics.c['messages.retained']++;
    this.broker.metrics.setStat('retained', this.index.size);
    this.schedule(stored.topic, stored);
    return undefined;
  }

  /** A stored copy: payload copied out of the socket chunk it may share, expiry defaulted from config. */
  private toStored(msg: Message): Message {
    const m = new Message(
      msg.topic,
      this.payloads.copy(msg.payload),
      msg.qos,
      msg.from,
      true,
      msg.props,
      this.storedHeaders(msg.from, msg.headers),
      msg.timestamp,
    );
    // Same field, another value: the message keeps its hidden class.
    (m as { flags: MessageFlags }).flags = STORED_FLAGS[msg.flags.sys ? 1 : 0];
    if (msg.props?.messageExpiryInterval !== undefined) {
      m.expiresAt =
        msg.props.messageExpiryInterval === 0 && this.config.allow_never_expire ? 0 : msg.expiresAt;
    } else if (this.config.msg_expiry_interval > 0) {
      m.expiresAt = msg.timestamp + this.config.msg_expiry_interval;
    }
    return m;
  }

  /**
   * The headers a stored copy keeps (who published it, from where), shared by the stored messages of one
   * publisher: one object per message was 48 of the 490 heap bytes of each of S5's 100 000 retained
   * messages (heapUsed after gc, 2026-12-04). Stored messages are never given new headers (a hook that changes one works on
   * a copy, see Message.withChanges). A small table of slots by publisher keeps this bounded.
   */
  private storedHeaders(from: string, h: MessageHeaders): MessageHeaders {
    const slot = hash(from) & (HEADER_SLOTS - 1);
    const kept = this.headerSlots[slot];
    if (
      kept !== undefined &&
      kept.from === from &&
      kept.headers.username === h.username &&
      kept.headers.peerhost === h.peerhost &&
      kept.headers.protocol === h.protocol
    )
      return kept.headers;
    const headers: MessageHeaders = { username: h.username, peerhost: h.peerhost, protocol: h.protocol };
    this.headerSlots[slot] = { from, headers };
    return headers;
  }

  private onSubscribed(client: ClientInfo, topic: string, opts: SubOpts): typeof STOP | undefined {
    // Every SUBSCRIBE filter comes here: with nothing retained (and no start-up load still under way, whose
    // rows are not in the index yet) there is no session to look up.
    if (this.index.size === 0 && this.loading === undefined) return undefined;
    if (!this.config.enable || opts.share !== undefined) return undefined;
    if (opts.rh === 2 || (opts.rh === 1 && opts.is_new === false)) return undefined;
    const session = this.broker.sessionOf(client);
    if (session === undefined) return undefined;
    // match() completes a start-up load still under way: the subscriber gets every stored match.
    const matches = this.match(topic);
    if (matches.length === 0) return undefined;
    matches.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    // Rest, not copy-then-delete: `delete` turns the copy into a slow dictionary object (4 µs, 2026-12-04),
    // and it is the opts of every retained delivery that follows.
    const { is_new: _isNew, ...subOpts } = opts;
    feedRetained(session, matches, subOpts, this.config.flow_control.batch_deliver_number);
    return undefined;
  }

  private schedule(topic: string, msg: Message | null): void {
    if (this.seam !== undefined) {
      if (msg === null) this.seam.removed(topic);
      else this.seam.stored(msg);
      return;
    }
    if (this.log === undefined) return;
    if (msg === null) this.batch.clear(topic);
    else {
      this.setBytes += this.batch.set(
        topic,
        msg.payload,
        msg.qos,
        msg.props === undefined ? null : stringifyWithBuffers(msg.props),
        msg.from,
        msg.headers.username ?? null,
        msg.timestamp,
        msg.expiresAt,
      );
      this.setCount++;
    }
    this.batchRecords++;
    if (this.onPending !== undefined) {
      this.onPending();
      return;
    }
    if (this.batchRecords >= 1000) this.flush();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
      this.flushTimer.unref();
    }
  }

  /**
   * Prepares the start-up load: the table of an older Hermod first while it was not migrated, then the
   * log's segments in order. A migration ends with a compaction, after which the table's rows go.
   */
  private load(log: RetainedLog): void {
    const now = Date.now();
    let expired = 0;
    const steps: Array<() => boolean> = [];
    const migrate = this.tableToMigrate(log);
    if (migrate !== undefined)
      steps.push(() =>
        migrate.readSlice((r) => {
          if (this.newerThanStore.size > 0 && this.newerThanStore.has(r[1])) return;
          const m = this.fromRow(r, now);
          if (m === undefined) expired++;
          else this.index.set(m);
        }),
      );
    const readers = log.replay.map((seg) => new SegmentReader(seg.file, seg.size));
    const apply = (r: RetainedRecord) => {
      if (this.newerThanStore.size > 0 && this.newerThanStore.has(r.topic)) return;
      const m = r.kind === SET ? this.fromRecord(r, now) : undefined;
      if (m === undefined) {
        if (r.kind === SET) expired++;
        this.index.delete(r.topic);
      } else this.index.set(m);
    };
    for (const reader of readers) steps.push(() => reader.readSlice(apply));
    const load = new SlicedWork(steps, () => {
      if (this.loading === load) this.loading = undefined;
      // The stored messages loaded: the set in memory but for topics published during the load.
      let loaded = this.index.size;
      for (const topic of this.newerThanStore) if (this.index.has(topic)) loaded--;
      this.newerThanStore.clear();
      this.broker.metrics.setStat('retained', this.index.size);
      for (const reader of readers) {
        this.setBytes += reader.setBytes;
        this.setCount += reader.setCount;
        if (reader.corruptAt !== undefined) log.markCorrupt(reader.file);
      }
      if (loaded + expired > 0)
        logger.info(
          { loaded, expired, migrated: migrate !== undefined },
          'retainer: loaded retained messages',
        );
      if (this.log !== log) return;
      // A damaged segment is replaced (and kept aside) at once: new changes must not follow a gap.
      if (migrate !== undefined || readers.some((r) => r.corruptAt !== undefined))
        this.startCompaction(log, migrate === undefined ? undefined : new RetainedTableReader(this.db!));
      else this.compactIfLarge(log);
    });
    this.loading = load;
  }

  /**
   * The table of an older Hermod when it still has rows to migrate; rows left by a migration whose snapshot
   * was written (a crash before they were deleted) are deleted here.
   */
  private tableToMigrate(log: RetainedLog): RetainedTableReader | undefined {
    const table = new RetainedTableReader(this.db!);
    if (!table.rows) return undefined;
    if (!log.hasSnapshot) return table;
    this.db!.exec('DELETE FROM retained');
    return undefined;
  }

  /** Starts a compaction when the log outgrew the live set (see COMPACT_RATIO). */
  private compactIfLarge(log: RetainedLog): void {
    if (this.compaction !== undefined || this.loading !== undefined || Date.now() < this.compactAfter) return;
    const mean = this.setCount === 0 ? 0 : this.setBytes / this.setCount;
    const live = this.index.size * mean;
    if (
      (log.bytes > COMPACT_MIN_BYTES && log.bytes > COMPACT_RATIO * live) ||
      log.replay.length > COMPACT_SEGMENTS
    )
      this.startCompaction(log, undefined);
  }

  /**
   * Writes the live set as a new snapshot segment, a slice per turn: the records of the segments (and of the
   * table being migrated) whose message is still the one in memory, raw, in log order, so a restart gives
   * messages of one millisecond back in their order. Changes appended meanwhile follow it (see RetainedLog).
   */
  private startCompaction(log: RetainedLog, table: RetainedTableReader | undefined): void {
    let sources: SegmentReader[];
    try {
      sources = log.startCompaction();
    } catch (err) {
      logger.error({ err }, 'retainer: starting a compaction of the retained log failed');
      return;
    }
    const out = new RecordWriter();
    const now = Date.now();
    const steps: Array<() => boolean> = [];
    const write = () => {
      log.writeSnapshot(out.bytes());
      out.reset();
    };
    if (table !== undefined)
      steps.push(() => {
        const more = table.readSlice((r) => {
          if (this.isLive(r[1], r[7], r[8], r[2], now))
            out.set(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
        });
        write();
        return more;
      });
    for (const src of sources)
      steps.push(() => {
        const more = src.readSlice((r) => {
          if (r.kind === SET && this.isLive(r.topic, r.publishAt, r.expiresAt, r.payload, now))
            out.raw(src.frame());
        });
        write();
        return more;
      });
    let failed = false;
    const guarded = steps.map((step) => () => {
      if (failed) return false;
      try {
        return step();
      } catch (err) {
        failed = true;
        logger.error({ err }, 'retainer: compacting the retained log failed; it is kept as it is');
        return false;
      }
    });
    const work = new SlicedWork(guarded, () => {
      // Still set while it finishes: the flush below must not start another compaction.
      const done = () => {
        if (this.compaction === work) this.compaction = undefined;
      };
      if (failed || this.log !== log) {
        log.abandonCompaction();
        this.compactAfter = Date.now() + COMPACT_RETRY_MS;
        return done();
      }
      try {
        // Changes not written yet go into the log now, so the snapshot's tail has them.
        this.flush();
        log.finishCompaction();
      } catch (err) {
        logger.error({ err }, 'retainer: compacting the retained log failed; it is kept as it is');
        this.compactAfter = Date.now() + COMPACT_RETRY_MS;
        return done();
      }
      done();
      if (table !== undefined) {
        // The snapshot holds every migrated row: the table's copy goes.
        this.db!.exec('DELETE FROM retained');
        logger.info(
          { retained: this.index.size },
          'retainer: retained messages migrated to the retained log',
        );
      }
    });
    this.compaction = work;
    work.inBackground();
  }

  /** True when a stored record is the message in memory (unexpired): a compaction keeps it. */
  private isLive(topic: string, publishAt: number, expiresAt: number, payload: Buffer, now: number): boolean {
    const m = this.index.get(topic);
    return (
      m !== undefined &&
      m.timestamp === publishAt &&
      m.expiresAt === expiresAt &&
      (expiresAt === 0 || expiresAt > now) &&
      m.payload.equals(payload)
    );
  }

  /** Completes a start-up load still under way (a no-op once loaded). */
  private loaded(): void {
    if (this.loading !== undefined) this.loading.finish();
  }

  /**
   * The first node of a new cluster brings the retained messages of its single-node life along: they are
   * copied from its embedded store into the (empty) cluster store.
   */
  private importIntoCluster(seam: RetainedSeam): void {
    const log = RetainedLog.open(retainedLogDir(this.db!));
    try {
      this.load(log);
      this.loaded();
    } finally {
      log.close();
    }
    const all = this.index.values();
    for (const m of all) seam.stored(m);
    if (all.length > 0)
      logger.info(
        { copied: all.length },
        "retainer: this node's stored retained messages copied into the new cluster",
      );
  }

  /**
   * The message of a stored row, undefined when it expired. Raw rows (no object per row; 100 000 rows of the
   * retained-restart curve: 438 → 200 ms CPU, 2026-12-04); loaded messages share their headers as stored
   * ones do.
   */
  private fromRow(r: RetainedRow, now: number): Message | undefined {
    const expiresAt = r[8];
    if (expiresAt !== 0 && expiresAt <= now) return undefined;
    const props = r[4] === null ? undefined : parseWithBuffers<MessageProperties>(r[4]);
    this.who.username = r[6] ?? undefined;
    const headers = this.storedHeaders(r[5], this.who);
    const m = new Message(r[1], r[2], r[3] as 0 | 1 | 2, r[5], true, props, headers, r[7]);
    (m as { flags: MessageFlags }).flags = STORED_FLAGS[0];
    m.expiresAt = expiresAt;
    return m;
  }

  /** The message of a log record, undefined when it expired (as fromRow). */
  private fromRecord(r: RetainedRecord, now: number): Message | undefined {
    const expiresAt = r.expiresAt;
    if (expiresAt !== 0 && expiresAt <= now) return undefined;
    const props = r.props === null ? undefined : parseWithBuffers<MessageProperties>(r.props);
    this.who.username = r.username ?? undefined;
    const headers = this.storedHeaders(r.from, this.who);
    // Copied: the record's payload is a view of the reader's buffer, which the next read overwrites.
    const m = new Message(
      r.topic,
      this.payloads.copy(r.payload),
      r.qos as 0 | 1 | 2,
      r.from,
      true,
      props,
      headers,
      r.publishAt,
    );
    (m as { flags: MessageFlags }).flags = STORED_FLAGS[0];
    m.expiresAt = expiresAt;
    return m;
  }

  private armClear(): void {
    const every = this.config.msg_clear_interval;
    if (every <= 0) return;
    this.clearTimer = setInterval(() => {
      // In a cluster one node removes expired messages for all (readers skip them meanwhile).
      if (this.seam !== undefined && !this.seam.housekeeper) return;
      const now = Date.now();
      for (const m of [...this.index.values()]) if (m.isExpired(now)) this.delete(m.topic);
    }, every);
    this.clearTimer.unref();
  }
}

/** Where a store's retained log lives: `retained/` next to its database file. */
function retainedLogDir(db: Db): string {
  return join(dirname(db.name), 'retained');
}
