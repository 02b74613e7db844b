/**
 * The cluster's ordered config log (EMQX `emqx_cluster_rpc`, reference §4.9). A runtime change made on any
 * node (API, dashboard, `hermod ctl`: every root key that goes through ConfigService.update, and plugin
 * install / start / stop / move / uninstall) is applied on that node first, so a refused change never
 * reaches the log, then appended to the JetStream stream `hm_<cluster>_conf` with
 * `Nats-Expected-Last-Sequence` = the last entry this node applied. A node that is behind loses the append,
 * applies what it missed and tries again, so every change gets one place in a total order.
 *
 * Every node applies the entries in order from its cursor, the sequence of the last entry it applied, kept
 * next to the override file (`configs/conf-log.json`) so both survive a restart together, and reports it
 * in the KV bucket `conf_status`. An entry carries the root key's whole new raw value, so applying it twice
 * changes nothing. A node without a cursor (new, or behind the stream's history) starts from the KV bucket
 * `conf_snapshot` (the last value and sequence of each root key, written on each append) plus the tail.
 * A change a node cannot apply (a port in use there) is logged and reported with its sequence, and the
 * node moves on, as EMQX does; the operator fixes that node.
 *
 * File-only changes (hermod.conf edited, then `conf reload`) stay on their node (seed 001): reload() does
 * not tell update listeners. `node`, `cluster` and `plugins` never travel: the first two name this very
 * node, and plugins travel as their own entries, together with their packages (plugin-packages.ts).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DiscardPolicy, StorageType } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Subscription } from '@nats-io/transport-node';
import type { ConfigService, RootKey } from '../config/service.js';
import { logger } from '../log.js';
import type { PluginChange } from '../plugins/manager.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-files.js';
import { jsonBytes } from './bus.js';
import { type ConfEntry, describeEntry, type PluginEntry, parseEntry } from './conf-entry.js';
import { listKeys } from './kv-keys.js';
import { PluginPackages } from './plugin-packages.js';
import { kvKey } from './subject.js';
import type { ClusterContext, ClusterPart } from './types.js';

/** Root keys that never travel through the log (see the module comment). */
const LOCAL_KEYS: ReadonlySet<string> = new Set(['node', 'cluster', 'plugins']);
/** Entries the stream keeps; older ones live on in `conf_snapshot` (EMQX keeps 1024 by default). */
const MAX_ENTRIES = 4096;
/** How often a node checks the stream even without a wake-up message (one lost during a reconnect). */
const POLL_MS = 5000;

/** A node's progress through the log, as kept in `conf_status`. */
export interface NodeConfStatus {
  node: string;
  /** The last entry the node applied (EMQX's tnx_id). */
  tnx_id: number;
  updated_at: number;
  /** The last entry that failed on that node (it moved on past it). */
  error?: { tnx_id: number; message: string };
}

/** What `GET /api/v5/cluster_rpc/status` answers. */
export interface ConfSyncStatus {
  /** The last entry in the log. */
  latest_tnx_id: number;
  /** Live nodes that have not applied every entry yet. */
  peers_lagging: string[];
  nodes: Array<NodeConfStatus & { lag: number; alive: boolean }>;
}

interface SnapshotValue {
  key: string;
  seq: number;
  value: unknown;
}

/** The running config log of each node, found by its ConfigService (what the management API holds). */
const running = new WeakMap<ConfigService, ConfLog>();

export function confLogOf(configService: ConfigService): ConfLog | undefined {
  return running.get(configService);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isWrongLastSequence(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e.code === 10071 || /wrong last sequence/i.test(e.message ?? '');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ConfLog implements ClusterPart {
  readonly name = 'conflog';
  private ctx: ClusterContext | undefined;
  private stream = '';
  private statusKv: KV | undefined;
  private snapshotKv: KV | undefined;
  private packages: PluginPackages | undefined;
  /** The last entry applied here; undefined until the node synced once (then it takes the snapshot). */
  private cursor: number | undefined;
  /** Root keys the snapshot brought in, with their sequence: older entries of them are skipped. */
  private snapshotSeqs: Map<string, number> | undefined;
  private lastError: NodeConfStatus['error'];
  /** While the node starts, plugin entries wait for ready(): the plugin manager is not up yet. */
  private phase: 'starting' | 'running' | 'stopped' = 'starting';
  private queue: Promise<unknown> = Promise.resolve();
  private wakePending = false;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly offs: Array<() => void> = [];
  private markReady: () => void = () => undefined;
  /** Resolves in ready(): a change made while the node starts is appended then (see publish). */
  private readonly isReady = new Promise<void>((r) => {
    this.markReady = r;
  });

  /**
   * Catches up before anything else of the node starts (start() of a part runs right after the node joined,
   * before the retainer, plugins, gateways and listeners): gateways and listeners then start from the
   * cluster's config as it is, instead of starting from a stale one and being changed a moment later.
   * Plugin entries wait for ready(), once the plugin manager runs.
   */
  async start(ctx: ClusterContext): Promise<void> {
    this.ctx = ctx;
    const { bus, host } = ctx;
    this.stream = bus.bucket('conf');
    await this.ensureStream();
    this.statusKv = await bus.kv('conf_status');
    this.snapshotKv = await bus.kv('conf_snapshot');
    this.packages = new PluginPackages(bus);
    this.cursor = this.readCursor();
    await this.serial(() => this.catchUp());
    this.sub = bus.control.subscribe(bus.sub('conf', '>'), { callback: () => this.wake() });
    this.offs.push(
      host.configService.onUpdated((key, value) => this.onLocalConfig(key, value)),
      host.plugins.onChanged((change) => this.onLocalPlugin(change)),
      bus.onEvent((e) => {
        if (e === 'reconnected') this.wake();
      }),
    );
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    running.set(host.configService, this);
  }

  async ready(): Promise<void> {
    this.phase = 'running';
    await this.serial(() => this.catchUp());
    this.markReady();
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    if (this.ctx !== undefined) running.delete(this.ctx.host.configService);
    clearInterval(this.timer);
    for (const off of this.offs.splice(0)) off();
    this.sub?.unsubscribe();
    await this.queue;
  }

  private get bus() {
    return this.ctx!.bus;
  }

  // ---------------------------------------------------------------- status

  /** Every node's progress and the lagging peers (EMQX `conf cluster_sync status`). */
  async status(): Promise<ConfSyncStatus> {
    const { membership } = this.ctx!;
    const latest = (await this.bus.jsm.streams.info(this.stream)).state.last_seq;
    const known = new Map<string, NodeConfStatus>();
    for (const k of await listKeys(this.statusKv!)) {
      const e = await this.statusKv!.get(k);
      if (e === null || e.operation !== 'PUT') continue;
      const s = e.json<NodeConfStatus>();
      known.set(s.node, s);
    }
    const alive = new Set(membership.alive());
    const names = [...new Set([...alive, ...known.keys()])].sort();
    const nodes = names.map((node) => {
      const s = known.get(node) ?? { node, tnx_id: 0, updated_at: 0 };
      return { ...s, lag: Math.max(0, latest - s.tnx_id), alive: alive.has(node) };
    });
    return {
      latest_tnx_id: latest,
      peers_lagging: nodes.filter((n) => n.alive && n.lag > 0).map((n) => n.node),
      nodes,
    };
  }

  /** Waits until every live node applied entry `seq` (or `timeoutMs` passed); the nodes still behind. */
  async waitApplied(seq: number, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind: string[] = [];
      for (const node of this.ctx!.membership.alive()) {
        const e = await this.statusKv!.get(kvKey(node)).catch(() => null);
        const s = e?.operation === 'PUT' ? e.json<NodeConfStatus>() : undefined;
        if (s === undefined || s.tnx_id < seq) behind.push(node);
      }
      if (behind.length === 0 || Date.now() >= deadline || this.phase === 'stopped') return behind;
      await sleep(50);
    }
  }

  /** The last entry in the log. */
  async latest(): Promise<number> {
    return (await this.bus.jsm.streams.info(this.stream)).state.last_seq;
  }

  // ---------------------------------------------------------------- changes made here

  private async onLocalConfig(key: RootKey, value: unknown): Promise<void> {
    if (LOCAL_KEYS.has(key) || this.phase === 'stopped') return;
    const entry: ConfEntry = { kind: 'config', key, value, origin: this.bus.node, at: Date.now() };
    const cs = this.ctx!.host.configService;
    // If an entry of another node for the same key came in meanwhile, this node's value goes in again, so
    // the node ends up where the log puts everyone: this change last.
    await this.publish(entry, async () => {
      if (!sameJson(cs.getRaw(key), value)) await cs.applyReplicated(key, value);
    });
  }

  private async onLocalPlugin(change: PluginChange): Promise<void> {
    if (this.phase === 'stopped') return;
    const base = { kind: 'plugin' as const, op: change.op, name_vsn: change.nameVsn };
    const meta = { origin: this.bus.node, at: Date.now() };
    let entry: ConfEntry;
    if (change.op === 'install') {
      const sha256 = await this.packages!.put(change.nameVsn, change.data);
      entry = { ...base, sha256, ...meta };
    } else if (change.op === 'move') entry = { ...base, position: change.position, ...meta };
    else entry = { ...base, ...meta };
    await this.publish(entry);
  }

  /**
   * Appends a change made here, then (as EMQX's multicall) waits a while for the live peers to apply it,
   * logging the ones that lag. With the bus away the change stays queued and goes out once it is back.
   */
  private async publish(entry: ConfEntry, ensureLocal?: () => Promise<void>): Promise<void> {
    if (this.phase === 'starting') {
      // A component changing config while the node starts: appending now could wait on plugin entries
      // that only ready() applies, and the start waits on this call; so it goes out once the node runs.
      void this.isReady
        .then(() => this.publish(entry, ensureLocal))
        .catch((err) =>
          logger.error({ err, entry: describeEntry(entry) }, 'cluster: cannot append a change'),
        );
      return;
    }
    const timeoutMs = this.bus.config.nats.request_timeout;
    const appended = this.serial(() => this.append(entry, ensureLocal));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), timeoutMs);
    });
    const seq = await Promise.race([appended, late]).finally(() => clearTimeout(timer));
    if (seq === undefined) {
      logger.warn(
        { entry: describeEntry(entry) },
        'cluster: config log not reachable; the change is applied on this node and goes to the cluster when the bus is back',
      );
      return;
    }
    const behind = (await this.waitApplied(seq, timeoutMs)).filter((n) => n !== this.bus.node);
    if (behind.length > 0)
      logger.warn(
        { tnx_id: seq, nodes: behind },
        'cluster_rpc_peers_lagging: peers have not applied the change yet',
      );
  }

  /** Appends once this node applied every earlier entry; the loser of a race catches up and retries. */
  private async append(entry: ConfEntry, ensureLocal?: () => Promise<void>): Promise<number> {
    const subject = this.bus.sub('conf', entry.kind);
    for (;;) {
      if (this.phase === 'stopped') throw new Error('cluster: the config log stopped');
      await ensureLocal?.();
      try {
        const ack = await this.bus.js.publish(subject, jsonBytes(entry), {
          expect: { lastSequence: this.cursor ?? 0, streamName: this.stream },
        });
        this.cursor = ack.seq;
        this.writeCursor();
        if (entry.kind === 'config') await this.writeSnapshot(entry.key, ack.seq, entry.value);
        await this.report();
        return ack.seq;
      } catch (err) {
        if (isWrongLastSequence(err)) {
          await this.catchUp();
          continue;
        }
        logger.warn(
          { err, entry: describeEntry(entry) },
          'cluster: cannot append to the config log; retrying',
        );
        await sleep(1000);
      }
    }
  }

  /** Keeps the newest value of a root key; an older append finishing late does not overwrite it. */
  private async writeSnapshot(key: string, seq: number, value: unknown): Promise<void> {
    const kv = this.snapshotKv!;
    const k = kvKey(key);
    const body: SnapshotValue = { key, seq, value };
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        const cur = await kv.get(k);
        try {
          if (cur === null || cur.operation !== 'PUT') await kv.create(k, jsonBytes(body));
          else if (cur.json<SnapshotValue>().seq >= seq) return;
          else await kv.update(k, jsonBytes(body), cur.revision);
          return;
        } catch {
          // Another node wrote it meanwhile: look again.
        }
      }
    } catch (err) {
      logger.error({ err, key }, 'cluster: cannot write the config snapshot');
    }
  }

  // ---------------------------------------------------------------- changes made elsewhere

  private wake(): void {
    if (this.wakePending || this.phase === 'stopped') return;
    this.wakePending = true;
    this.serial(async () => {
      this.wakePending = false;
      await this.catchUp();
    }).catch((err) => logger.warn({ err }, 'cluster: cannot read the config log; will try again'));
  }

  /** Applies every entry after the cursor, in order (plugin entries only once the node runs). */
  private async catchUp(): Promise<void> {
    if (this.phase === 'stopped') return;
    const { first_seq, last_seq } = (await this.bus.jsm.streams.info(this.stream)).state;
    const before = this.cursor;
    if (this.cursor !== undefined && (this.cursor > last_seq || this.cursor < first_seq - 1)) {
      logger.warn(
        { cursor: this.cursor, first: first_seq, last: last_seq },
        'cluster: this node is out of the config log history; starting again from the snapshot',
      );
      this.cursor = undefined;
    }
    if (this.cursor === undefined) await this.fromSnapshot(first_seq);
    let cursor = this.cursor!;
    try {
      while (cursor < last_seq) {
        const seq = cursor + 1;
        const entry = await this.read(seq);
        if (entry?.kind === 'plugin' && this.phase === 'starting') return;
        if (entry !== undefined) await this.applyEntry(seq, entry);
        cursor = seq;
        this.cursor = seq;
        this.writeCursor();
      }
      this.snapshotSeqs = undefined;
    } finally {
      if (this.cursor !== before) await this.report();
    }
  }

  /** The entry at `seq`; undefined when it is gone or malformed (then reported as this node's error). */
  private async read(seq: number): Promise<ConfEntry | undefined> {
    let data: Uint8Array;
    try {
      const m = await this.bus.jsm.streams.getMessage(this.stream, { seq });
      if (m === null) return undefined;
      data = m.data;
    } catch (err) {
      if (/no message found/i.test((err as Error).message)) return undefined;
      throw err;
    }
    const entry = parseEntry(data);
    if (!('error' in entry)) return entry;
    this.lastError = { tnx_id: seq, message: `malformed entry: ${entry.error}` };
    logger.error({ tnx_id: seq, why: entry.error }, 'cluster: skipping a malformed config log entry');
    return undefined;
  }

  /** A node with no usable cursor: every root key's last value, then the tail after the oldest entry kept. */
  private async fromSnapshot(firstSeq: number): Promise<void> {
    const kv = this.snapshotKv!;
    const seqs = new Map<string, number>();
    for (const k of await listKeys(kv)) {
      const e = await kv.get(k);
      if (e === null || e.operation !== 'PUT') continue;
      const s = e.json<SnapshotValue>();
      await this.applyEntry(s.seq, { kind: 'config', key: s.key, value: s.value, origin: '', at: 0 });
      seqs.set(s.key, s.seq);
    }
    this.snapshotSeqs = seqs;
    this.cursor = Math.max(0, firstSeq - 1);
    logger.info({ keys: [...seqs.keys()], from: firstSeq }, 'cluster: config taken from the snapshot');
  }

  /** Applies one entry; a failure is logged and reported, and the node moves on. */
  private async applyEntry(seq: number, entry: ConfEntry): Promise<void> {
    try {
      if (entry.kind === 'config') await this.applyConfig(seq, entry.key as RootKey, entry.value);
      else await this.applyPlugin(entry);
    } catch (err) {
      const message = (err as Error).message;
      this.lastError = { tnx_id: seq, message };
      logger.error(
        { err, tnx_id: seq, entry: describeEntry(entry) },
        'cluster: a config change from the log failed on this node; moving on (fix this node, then change it again)',
      );
    }
  }

  private async applyConfig(seq: number, key: RootKey, value: unknown): Promise<void> {
    if (LOCAL_KEYS.has(key)) return;
    const fromSnapshot = this.snapshotSeqs?.get(key);
    if (fromSnapshot !== undefined && seq < fromSnapshot) return;
    const cs = this.ctx!.host.configService;
    if (sameJson(cs.getRaw(key), value)) return;
    await cs.applyReplicated(key, value);
  }

  private async applyPlugin(entry: PluginEntry): Promise<void> {
    const nameVsn = entry.name_vsn;
    let change: PluginChange;
    if (entry.op === 'install')
      change = { op: 'install', nameVsn, data: await this.packages!.get(nameVsn, entry.sha256 ?? '') };
    else if (entry.op === 'move') change = { op: 'move', nameVsn, position: entry.position ?? 'rear' };
    else change = { op: entry.op, nameVsn };
    await this.ctx!.host.plugins.applyReplicated(change);
  }

  // ---------------------------------------------------------------- cursor, status, stream

  /** Where the cursor is kept: next to the override file, or nowhere when changes are not persisted. */
  private get cursorPath(): string | undefined {
    const overrides = this.ctx!.host.configService.overridePath;
    return overrides === undefined ? undefined : join(dirname(overrides), 'conf-log.json');
  }

  private readCursor(): number | undefined {
    const path = this.cursorPath;
    if (path === undefined) return undefined;
    try {
      const c = JSON.parse(readFileSync(path, 'utf8')) as { cluster?: string; tnx_id?: number };
      // A cursor of another cluster (renamed, or a data dir reused) means nothing here.
      return c.cluster === this.bus.config.name && typeof c.tnx_id === 'number' ? c.tnx_id : undefined;
    } catch {
      return undefined;
    }
  }

  private writeCursor(): void {
    const path = this.cursorPath;
    if (path === undefined || this.cursor === undefined) return;
    ensurePrivateDir(dirname(path));
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ cluster: this.bus.config.name, tnx_id: this.cursor })}\n`, {
      mode: PRIVATE_FILE_MODE,
    });
    renameSync(tmp, path);
  }

  private async report(): Promise<void> {
    const s: NodeConfStatus = { node: this.bus.node, tnx_id: this.cursor ?? 0, updated_at: Date.now() };
    if (this.lastError !== undefined) s.error = this.lastError;
    try {
      await this.statusKv!.put(kvKey(this.bus.node), jsonBytes(s));
    } catch (err) {
      logger.warn({ err }, 'cluster: cannot report config log progress');
    }
  }

  private async ensureStream(): Promise<void> {
    const cfg = {
      name: this.stream,
      subjects: [this.bus.sub('conf', '>')],
      storage: StorageType.File,
      num_replicas: this.bus.config.nats.replicas,
      max_msgs: MAX_ENTRIES,
      discard: DiscardPolicy.Old,
    };
    try {
      await this.bus.jsm.streams.info(this.stream);
    } catch {
      try {
        await this.bus.jsm.streams.add(cfg);
      } catch (err) {
        // Another node created it at the same moment.
        await this.bus.jsm.streams.info(this.stream).catch(() => {
          throw err;
        });
      }
    }
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
