/**
 * Who is in the cluster. Each node holds one key in the `nodes` bucket, named after `node.name`: it
 * creates the key when it starts (a live node of the same name makes the start fail), rewrites it every
 * `heartbeat_interval` as its heartbeat, and deletes it when it stops. Every node watches the bucket: a
 * node whose key was not rewritten for `node_down_after` is down (crash, partition, stalled process), a
 * deleted key is a node that left. The KV revision doubles as the lock on the name, so two nodes started
 * with one name at once cannot both hold it.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { logger } from '../log.js';
import type { ClusterBus } from './bus.js';
import { fromKvKey, kvKey } from './subject.js';

/** What a node says about itself in its key. */
export interface NodeInfo {
  name: string;
  /** Random per start: tells a restarted node from its previous life. */
  incarnation: string;
  /** Epoch ms this incarnation started. */
  started_at: number;
  version: string;
  /** The node's OS process id and host name (for `cluster status`). */
  pid: number;
  host: string;
  /** Whatever else other nodes should know (API address, listener ports …). */
  extra?: Record<string, unknown>;
}

export interface PeerState {
  info: NodeInfo;
  /** Local clock when its key was last written (or when we first saw it). */
  lastSeen: number;
  alive: boolean;
}

export type MembershipEvent =
  | { type: 'up'; node: string; info: NodeInfo }
  | { type: 'down'; node: string; info: NodeInfo; reason: 'left' | 'timeout' };

/** The start of a node failed because another live node has its name. */
export class DuplicateNodeError extends Error {
  constructor(name: string, holder: NodeInfo) {
    super(
      `cluster: node name ${name} is already in use by a live node (pid ${holder.pid} on ${holder.host}, started ${new Date(holder.started_at).toISOString()}); give each node its own node.name`,
    );
    this.name = 'DuplicateNodeError';
  }
}

export class Membership {
  private kv: KV | undefined;
  private revision = 0;
  private readonly peers = new Map<string, PeerState>();
  private readonly listeners = new Set<(e: MembershipEvent) => void>();
  private watcher: QueuedIterator<KvEntry> | undefined;
  private beat: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly bus: ClusterBus,
    readonly self: NodeInfo,
  ) {}

  private get key(): string {
    return kvKey(this.self.name);
  }

  /** Takes this node's name in the cluster, starts heartbeats and follows the other nodes. */
  async start(): Promise<void> {
    const kv = await this.bus.kv('nodes');
    this.kv = kv;
    const value = JSON.stringify(this.self);
    try {
      this.revision = await kv.create(this.key, value);
    } catch {
      // The key exists: a node with our name is alive, or one died without deleting it.
      const held = await kv.get(this.key);
      if (held !== null && held.operation === 'PUT') {
        const age = Date.now() - held.created.getTime();
        if (age < this.bus.config.node_down_after)
          throw new DuplicateNodeError(this.self.name, held.json<NodeInfo>());
        logger.warn(
          { node: this.self.name, previous: held.json<NodeInfo>().incarnation },
          'cluster: taking over the name of a previous incarnation of this node that did not leave',
        );
      }
      try {
        this.revision =
          held === null ? await kv.create(this.key, value) : await kv.update(this.key, value, held.revision);
      } catch {
        const now = await kv.get(this.key);
        throw new DuplicateNodeError(this.self.name, now?.json<NodeInfo>() ?? this.self);
      }
    }
    await this.bus.serve();
    this.watcher = await kv.watch();
    void this.follow(this.watcher);
    const cfg = this.bus.config;
    this.beat = setInterval(() => void this.heartbeat(), cfg.heartbeat_interval);
    this.beat.unref();
    this.sweep = setInterval(() => this.findDown(), Math.max(100, Math.floor(cfg.heartbeat_interval / 2)));
    this.sweep.unref();
  }

  /** Leaves the cluster: deletes this node's key so the others see it go at once. */
  async stop(): Promise<void> {
    clearInterval(this.beat);
    clearInterval(this.sweep);
    this.watcher?.stop();
    try {
      await this.kv?.delete(this.key, { previousSeq: this.revision });
    } catch (err) {
      logger.warn({ err }, 'cluster: could not remove this node from the node list');
    }
  }

  /** Follows up/down changes of the other nodes. */
  on(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Names of the live nodes, this one included, sorted (the same list on every node once settled). */
  alive(): string[] {
    const names = [this.self.name];
    for (const [name, p] of this.peers) if (p.alive) names.push(name);
    return names.sort();
  }

  /** Every node known, alive or not, with what it said about itself. */
  nodes(): Map<string, PeerState> {
    const out = new Map<string, PeerState>([
      [this.self.name, { info: this.self, lastSeen: Date.now(), alive: true }],
    ]);
    for (const [name, p] of this.peers) out.set(name, p);
    return out;
  }

  isAlive(node: string): boolean {
    return node === this.self.name || this.peers.get(node)?.alive === true;
  }

  private async heartbeat(): Promise<void> {
    const kv = this.kv;
    if (kv === undefined) return;
    try {
      this.revision = await kv.update(this.key, JSON.stringify(this.self), this.revision);
    } catch (err) {
      // A revision mismatch means someone else wrote our key (a partition healed, or a rival start):
      // write it back unconditionally; the rival refuses itself when it sees a fresh key.
      try {
        this.revision = await kv.put(this.key, JSON.stringify(this.self));
      } catch {
        logger.warn({ err: (err as Error).message }, 'cluster: heartbeat not written (bus unavailable?)');
      }
    }
  }

  private async follow(watch: QueuedIterator<KvEntry>): Promise<void> {
    try {
      for await (const e of watch) {
        if (e.key === this.key) continue;
        const name = fromKvKey(e.key);
        const now = Date.now();
        const p = this.peers.get(name);
        if (e.operation !== 'PUT') {
          if (p?.alive === true) {
            p.alive = false;
            this.emit({ type: 'down', node: p.info.name, info: p.info, reason: 'left' });
          }
          this.peers.delete(name);
          continue;
        }
        const info = e.json<NodeInfo>();
        // Entries read at start carry their server time: an old one is a node that died before we came.
        const seen = Math.min(now, e.created.getTime() > this.startedAt ? now : e.created.getTime());
        if (p === undefined || p.info.incarnation !== info.incarnation) {
          if (p?.alive === true)
            this.emit({ type: 'down', node: p.info.name, info: p.info, reason: 'timeout' });
          const state: PeerState = { info, lastSeen: seen, alive: false };
          this.peers.set(name, state);
          if (now - seen < this.bus.config.node_down_after) this.markUp(state);
          else this.emit({ type: 'down', node: info.name, info, reason: 'timeout' });
        } else {
          p.lastSeen = now;
          if (!p.alive) this.markUp(p);
        }
      }
    } catch (err) {
      logger.warn({ err }, 'cluster: node watch ended');
    }
  }

  private markUp(p: PeerState): void {
    p.alive = true;
    this.emit({ type: 'up', node: p.info.name, info: p.info });
  }

  private findDown(): void {
    const limit = Date.now() - this.bus.config.node_down_after;
    for (const p of this.peers.values()) {
      if (p.alive && p.lastSeen < limit) {
        p.alive = false;
        this.emit({ type: 'down', node: p.info.name, info: p.info, reason: 'timeout' });
      }
    }
  }

  private emit(e: MembershipEvent): void {
    logger.info(
      { node: e.node, reason: e.type === 'down' ? e.reason : undefined },
      `cluster: node ${e.type}`,
    );
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        logger.error({ err }, 'cluster: membership listener failed');
      }
    }
  }
}
