/**
 * Retained messages shared by the whole cluster (cluster.md §4.7). They live in the JetStream KV bucket
 * `hm_<cluster>_retained` (history 1, file storage), one key per topic (retained-codec.ts). Every node
 * watches the bucket into its retainer's index, so a SUBSCRIBE matches retained messages locally, with no
 * network hop; the node where a retained message is published (or deleted) writes the bucket.
 *
 * - Start: the bucket's current content is read before this part's start() returns, so the retainer and
 *   then the listeners start with every retained message of the cluster already known.
 * - Writes never hold up delivery: they are queued and sent after the current event-loop turn, at most one
 *   in flight per topic (a burst on one topic writes its latest value). The bucket is the order every node
 *   agrees on: while this node's write to a topic is in flight, the watch's older entries for it are held
 *   back, so the local index never steps back to a value the bucket already replaced.
 * - Bus loss: a failed write stays queued (latest value per topic) and is sent again when the bus is back;
 *   if another node wrote that topic meanwhile, this node's later write wins. Writes still queued when the
 *   node stops are lost (they are counted and logged).
 * - Expiry: readers skip expired messages; the lowest-named live node deletes them from the bucket.
 */
import { StorageType } from '@nats-io/jetstream';
import { Bucket, type KV, type KvWatchEntry } from '@nats-io/kv';
import { Empty, headers, type QueuedIterator } from '@nats-io/transport-node';
import type { RetainedSeam, RetainedSink } from '../broker/cluster-seam.js';
import type { Message } from '../broker/message.js';
import { logger } from '../log.js';
import { JetStreamAcks } from './retained-acks.js';
import { decodeRetained, encodeRetained, isHashedKey, retainedKey } from './retained-codec.js';
import { fromKvKey } from './subject.js';
import type { ClusterContext, ClusterPart } from './types.js';

/** How often failed writes are tried again while the bus stays away. */
const RETRY_MS = 1000;
/** How often the housekeeper drops delete markers older than DELETE_MARKER_AGE_MS from the bucket. */
const PURGE_DELETES_MS = 10 * 60_000;
const DELETE_MARKER_AGE_MS = 30 * 60_000;
/** How long a stopping node waits for its last writes to be acknowledged. */
const STOP_WAIT_MS = 3000;

/** This node's writes to one key. */
interface KeyWrite {
  readonly key: string;
  readonly topic: string;
  /** A write is on its way (sent, not yet acknowledged). */
  busy: boolean;
  /** The value to write next (null = delete); undefined when nothing waits. */
  next: Message | null | undefined;
  /** Revision of this node's last acknowledged write. */
  rev: number;
  /** The newest entry of the watch held back while this node's writes were on their way. */
  held: { rev: number; value: Uint8Array | null } | undefined;
}

/** What the part measured, for logs and tests. */
export interface RetainedStats {
  /** Entries read from the bucket at start, and how long reading them took. */
  loaded: number;
  loadMs: number;
  /** Writes to the bucket that failed (each retry counts again). */
  failedWrites: number;
  /** Writes waiting for the bus. */
  unsent: number;
}

export class RetainedPart implements ClusterPart, RetainedSeam {
  readonly name = 'retained';
  private ctx: ClusterContext | undefined;
  private kv: KV | undefined;
  /** `$KV.<bucket>.`: the subject prefix of the bucket's keys. */
  private keySubject = '';
  private acks: JetStreamAcks | undefined;
  private watcher: QueuedIterator<KvWatchEntry> | undefined;
  private sink: RetainedSink | undefined;
  /** Messages seen before the retainer attached (topic → message). */
  private readonly early = new Map<string, Message>();
  /** Topics of hashed keys (a delete marker carries only the key). */
  private readonly hashedTopics = new Map<string, string>();
  private readonly writes = new Map<string, KeyWrite>();
  private readonly queued = new Set<KeyWrite>();
  private readonly unsent = new Set<KeyWrite>();
  private readonly inflight = new Set<Promise<void>>();
  /** Revision of the last entry the watch delivered (where a new watch resumes). */
  private lastRevision = 0;
  private flushScheduled: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private offBus: (() => void) | undefined;
  /** True while writes fail (one warning per outage). */
  private failing = false;
  private stopping = false;
  /** The bucket was new (nothing, not even a delete marker) when this node joined. */
  empty = false;
  readonly stats: RetainedStats = { loaded: 0, loadMs: 0, failedWrites: 0, unsent: 0 };

  async start(ctx: ClusterContext): Promise<void> {
    this.ctx = ctx;
    const began = performance.now();
    const kv = await ctx.bus.kv('retained', { history: 1, storage: StorageType.File });
    this.kv = kv;
    this.keySubject = `$KV.${ctx.bus.bucket('retained')}.`;
    this.acks = new JetStreamAcks(ctx.bus.control, ctx.bus.config.nats.request_timeout);
    const status = await kv.status();
    const lastSeq = status.streamInfo.state.last_seq;
    let loaded: () => void = () => undefined;
    const initial = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    this.empty = status.values === 0;
    if (this.empty) loaded();
    this.watcher = await kv.watch();
    void this.follow(this.watcher, status.values === 0 ? 0 : lastSeq, loaded);
    await initial;
    this.stats.loadMs = Math.round(performance.now() - began);
    logger.info(
      { messages: this.early.size, entries: this.stats.loaded, ms: this.stats.loadMs },
      'cluster: retained messages loaded',
    );
    (ctx.host.broker.cluster ??= {}).retained = this;
    this.offBus = ctx.bus.onEvent((e) => {
      if (e === 'reconnected') this.retry();
    });
    this.purgeTimer = setInterval(() => void this.purgeDeletes(), PURGE_DELETES_MS);
    this.purgeTimer.unref();
  }

  async stop(): Promise<void> {
    const cluster = this.ctx?.host.broker.cluster;
    if (cluster?.retained === this) delete cluster.retained;
    this.offBus?.();
    clearInterval(this.purgeTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopping = true;
    // The last writes (and those that failed before) go out before the bus closes.
    this.flush();
    this.retry();
    if (this.inflight.size > 0) {
      const wait = new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref());
      await Promise.race([Promise.allSettled([...this.inflight]), wait]);
    }
    const lost = this.unsent.size + this.inflight.size;
    if (lost > 0)
      logger.warn(
        { topics: lost },
        'cluster: retained changes not written to the cluster before stop (lost)',
      );
    this.watcher?.stop();
    this.watcher = undefined;
    this.acks?.stop();
  }

  // ---------------------------------------------------------------- the retainer's side (RetainedSeam)

  attach(sink: RetainedSink): void {
    this.sink = sink;
    for (const m of this.early.values()) sink.put(m);
    this.early.clear();
  }

  detach(): void {
    this.sink = undefined;
  }

  stored(msg: Message): void {
    this.write(msg.topic, msg);
  }

  removed(topic: string): void {
    this.write(topic, null);
  }

  get housekeeper(): boolean {
    const ctx = this.ctx;
    return ctx !== undefined && ctx.membership.alive()[0] === ctx.host.name;
  }

  // ---------------------------------------------------------------- reading the bucket

  /** Feeds the watch's entries to the retainer; `loaded` once the entries up to `lastSeq` (0: none) came. */
  private async follow(
    watch: QueuedIterator<KvWatchEntry>,
    lastSeq: number,
    loaded: () => void,
  ): Promise<void> {
    let initial = lastSeq > 0;
    try {
      for await (const e of watch) {
        if (initial) this.stats.loaded++;
        this.lastRevision = e.revision;
        this.onEntry(e);
        if (initial && (e.revision >= lastSeq || e.delta === 0)) {
          initial = false;
          loaded();
        }
      }
    } catch (err) {
      logger.warn({ err }, 'cluster: retained watch failed');
    }
    loaded();
    if (this.watcher === watch) this.rewatch();
  }

  /** The watch ended without stop(): carry on after the last entry seen, once the bus lets us. */
  private rewatch(): void {
    const again = setTimeout(async () => {
      const kv = this.kv;
      if (kv === undefined || this.watcher === undefined) return;
      try {
        const watch = await kv.watch({ resumeFromRevision: this.lastRevision + 1 });
        this.watcher = watch;
        logger.info({ from: this.lastRevision + 1 }, 'cluster: retained watch resumed');
        void this.follow(watch, 0, () => undefined);
      } catch {
        this.rewatch();
      }
    }, RETRY_MS);
    again.unref();
  }

  private onEntry(e: KvWatchEntry): void {
    const w = this.writes.get(e.key);
    if (w !== undefined) {
      if (w.busy || w.next !== undefined) {
        // Our own write lands after this entry: keep it only in case that write fails for good.
        if (w.held === undefined || e.revision > w.held.rev)
          w.held = { rev: e.revision, value: e.operation === 'PUT' ? e.value.slice() : null };
        return;
      }
      // Our write's echo (or something older) changes nothing; anything newer is another node's.
      if (e.revision <= w.rev) {
        if (e.revision === w.rev) this.writes.delete(e.key);
        return;
      }
      this.writes.delete(e.key);
    }
    this.apply(e.key, e.operation === 'PUT' ? e.value : null, e.revision);
  }

  /** A change made by another node reaches the retainer (or waits for it); null value: a delete. */
  private apply(key: string, value: Uint8Array | null, revision: number): void {
    if (value !== null) {
      // Decoded only here: this node's own writes come back through the watch too, and are skipped above.
      const msg = decodeRetained(value);
      if (msg instanceof Error) {
        logger.warn({ key, revision, err: msg.message }, 'cluster: unreadable retained entry skipped');
        return;
      }
      if (isHashedKey(key)) this.hashedTopics.set(key, msg.topic);
      if (this.sink !== undefined) this.sink.put(msg);
      else this.early.set(msg.topic, msg);
      return;
    }
    let topic: string | undefined;
    if (isHashedKey(key)) {
      topic = this.hashedTopics.get(key);
      this.hashedTopics.delete(key);
    } else topic = fromKvKey(key);
    if (topic === undefined) return;
    if (this.sink !== undefined) this.sink.remove(topic);
    else this.early.delete(topic);
  }

  // ---------------------------------------------------------------- writing the bucket

  private write(topic: string, msg: Message | null): void {
    const key = retainedKey(topic);
    if (isHashedKey(key)) {
      if (msg === null) this.hashedTopics.delete(key);
      else this.hashedTopics.set(key, topic);
    }
    let w = this.writes.get(key);
    if (w === undefined) {
      w = { key, topic, busy: false, next: undefined, rev: 0, held: undefined };
      this.writes.set(key, w);
    }
    w.next = msg;
    if (w.busy) return;
    this.queued.add(w);
    this.flushScheduled ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    for (const w of this.queued) if (!w.busy && w.next !== undefined) this.send(w);
    this.queued.clear();
  }

  private send(w: KeyWrite): void {
    const value = w.next as Message | null;
    w.next = undefined;
    w.busy = true;
    const done = this.publish(w.key, value).then(
      (rev) => this.written(w, rev),
      (err: unknown) => this.notWritten(w, value, err as Error),
    );
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
  }

  /** One KV put (or delete marker) through JetStream; resolves with the entry's revision. */
  private publish(key: string, value: Message | null): Promise<number> {
    const acks = this.acks!;
    if (value === null) {
      const h = headers();
      h.set('KV-Operation', 'DEL');
      return acks.publish(this.keySubject + key, Empty, h);
    }
    try {
      return acks.publish(this.keySubject + key, encodeRetained(value));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private written(w: KeyWrite, rev: number): void {
    w.busy = false;
    w.rev = Math.max(w.rev, rev);
    if (this.failing) {
      this.failing = false;
      logger.info('cluster: retained messages are written to the cluster again');
    }
    if (w.next !== undefined) {
      this.send(w);
      return;
    }
    this.settle(w);
  }

  private notWritten(w: KeyWrite, value: Message | null, err: Error): void {
    w.busy = false;
    this.stats.failedWrites++;
    if (/payload|size/i.test(err.message)) {
      // Too big for the bus: trying again cannot help.
      logger.error(
        { topic: w.topic, err: err.message },
        'cluster: retained message not written to the cluster (too large for the NATS server: raise max_payload)',
      );
      if (w.next === undefined) this.settle(w);
      else this.send(w);
      return;
    }
    if (!this.failing) {
      this.failing = true;
      logger.warn(
        { topic: w.topic, err: err.message },
        'cluster: retained messages cannot be written to the cluster; kept here and written when the bus is back',
      );
    }
    if (w.next === undefined) w.next = value;
    this.unsent.add(w);
    this.stats.unsent = this.unsent.size;
    if (this.stopping) return;
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      this.retry();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** This key has no local write on its way any more: an entry held back meanwhile may be newer. */
  private settle(w: KeyWrite): void {
    const held = w.held;
    w.held = undefined;
    if (held === undefined) return;
    if (held.rev > w.rev) {
      this.writes.delete(w.key);
      this.apply(w.key, held.value, held.rev);
    } else if (held.rev === w.rev) this.writes.delete(w.key);
  }

  private retry(): void {
    const list = [...this.unsent];
    this.unsent.clear();
    this.stats.unsent = 0;
    for (const w of list) if (!w.busy && w.next !== undefined) this.send(w);
  }

  /** Delete markers stay in the bucket (history 1); the housekeeper drops old ones now and then. */
  private async purgeDeletes(): Promise<void> {
    // Kvm hands out Bucket objects; the KV type just does not list purgeDeletes.
    if (!this.housekeeper || !(this.kv instanceof Bucket)) return;
    try {
      await this.kv.purgeDeletes(DELETE_MARKER_AGE_MS);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'cluster: purging old retained delete markers failed');
    }
  }
}
