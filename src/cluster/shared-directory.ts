/**
 * Which nodes hold members of which shared-subscription group, so the publishing node picks exactly one
 * member cluster-wide, as EMQX's publisher picks from its replicated member table (cluster.md §1.5).
 *
 * Each node writes one key per (group, filter) it has local members of, in the `shared` bucket:
 * `<node>.<hash of group and filter>` → `{group, filter, node, members}`, and watches the bucket into the
 * table below. A publisher picks a node with the configured strategy, weighted by member count (so every
 * member has the same chance under `random` and `round_robin` whichever node it is on); that node then
 * picks one of its own members with the same strategy. `hash_topic` and `hash_clientid` pick the same
 * node, and that node the same member, for as long as the membership stays the same; `sticky` sticks to
 * a node per publishing node; `local` prefers the publishing node's own members.
 *
 * NATS queue groups would give `random` with no table, but not the deterministic strategies nor `local`;
 * one mechanism for every strategy keeps the delivery rule the same whatever the configuration.
 */
import { createHash } from 'node:crypto';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Message } from '../broker/message.js';
import { hash, type SharedStrategy } from '../broker/shared-sub.js';
import { topicMatches } from '../broker/topic.js';
import { logger } from '../log.js';
import { jsonBytes } from './bus.js';
import { fromKvKey, kvKey } from './subject.js';

/** One (group, filter) and its members per node. */
export interface GroupRoute {
  readonly group: string;
  readonly filter: string;
  /** Members per node (this node's own count kept exactly, others' as last read). */
  readonly nodes: Map<string, number>;
  /** Node names sorted, so every publisher walks them in the same order; rebuilt after a change. */
  sorted: string[] | undefined;
  cursor: number;
  sticky: string | undefined;
}

interface EntryValue {
  group: string;
  filter: string;
  node: string;
  members: number;
}

export interface PickSettings {
  strategy: SharedStrategy;
  initialSticky: SharedStrategy;
}

function routeKey(group: string, filter: string): string {
  return `${group}\u0000${filter}`;
}

export class SharedDirectory {
  private readonly routes = new Map<string, GroupRoute>();
  /** Every route, for matching a topic (shared groups are few; a linear scan is the simple choice). */
  private list: GroupRoute[] = [];
  private kv: KV | undefined;
  private watcher: { stop(): void } | undefined;
  /** Own keys whose write is running, and those changed again meanwhile. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private failing = false;

  constructor(
    private readonly self: string,
    private readonly isAlive: (node: string) => boolean,
    private readonly settings: PickSettings,
  ) {}

  /** True when no node has a shared member: a publish pays nothing more. */
  get empty(): boolean {
    return this.list.length === 0;
  }

  async start(kv: KV): Promise<void> {
    this.kv = kv;
    let loaded: () => void = () => undefined;
    const initial = new Promise<void>((r) => {
      loaded = r;
    });
    const status = await kv.status();
    if (status.values === 0) loaded();
    const watch = await kv.watch();
    this.watcher = watch;
    void this.follow(watch, status.streamInfo.state.last_seq, loaded);
    await initial;
  }

  stop(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  /** Resolves when this node's member counts written so far are in the bucket (undefined: nothing pending). */
  settled(): Promise<void> | undefined {
    if (this.writing.size === 0) return undefined;
    return Promise.all(this.writing.values()).then(() => this.settled());
  }

  memberAdded(group: string, filter: string): void {
    this.change(group, filter, 1);
  }

  memberRemoved(group: string, filter: string): void {
    this.change(group, filter, -1);
  }

  /** Writes every own key again (the bus came back, or a write failed). */
  reassert(): void {
    for (const r of this.list) if (r.nodes.has(this.self)) this.write(r);
  }

  /**
   * Deletes the keys of a node that stayed down, for every node (the watch removes them from each table).
   * A node merely counted down keeps its entries: `pick` skips nodes that are not alive, and a stalled node
   * that comes back is picked again at once (its keys did not change while it stalled).
   */
  purgeNode(node: string): void {
    const kv = this.kv;
    for (const r of [...this.list]) {
      if (!r.nodes.has(node)) continue;
      if (kv !== undefined) void kv.delete(entryKey(node, r.group, r.filter)).catch(() => {});
      else {
        r.nodes.delete(node);
        r.sorted = undefined;
        if (r.nodes.size === 0) this.drop(r);
      }
    }
  }

  /** The routes whose filter matches `topic`, appended to `out`. */
  matching(topic: string, out: GroupRoute[]): void {
    for (const r of this.list) if (topicMatches(r.filter, topic)) out.push(r);
  }

  get(group: string, filter: string): GroupRoute | undefined {
    return this.routes.get(routeKey(group, filter));
  }

  /**
   * The node that gets this message for the group: one of those with members, weighted by their member
   * counts, picked with the configured strategy; undefined when no live node has a member.
   */
  pick(r: GroupRoute, msg: Message, excludeSelf = false): string | undefined {
    const names = (r.sorted ??= [...r.nodes.keys()].sort());
    let total = 0;
    for (const n of names) if (this.eligible(r, n, excludeSelf)) total += r.nodes.get(n)!;
    if (total === 0) return undefined;
    const s = this.settings;
    switch (s.strategy) {
      case 'local':
        if (!excludeSelf && (r.nodes.get(this.self) ?? 0) > 0) return this.self;
        return this.weighted(r, names, Math.floor(Math.random() * total), excludeSelf);
      case 'sticky': {
        if (r.sticky !== undefined && this.eligible(r, r.sticky, excludeSelf)) return r.sticky;
        const first = s.initialSticky === 'sticky' ? 'random' : s.initialSticky;
        r.sticky = this.weighted(r, names, this.index(first, r, msg, total), excludeSelf);
        return r.sticky;
      }
      default:
        return this.weighted(r, names, this.index(s.strategy, r, msg, total), excludeSelf);
    }
  }

  private index(strategy: SharedStrategy, r: GroupRoute, msg: Message, total: number): number {
    switch (strategy) {
      case 'round_robin':
      case 'round_robin_per_group':
        return r.cursor++ % total;
      case 'hash_topic':
        return hash(msg.topic) % total;
      case 'hash_clientid':
        return hash(msg.from) % total;
      default:
        return Math.floor(Math.random() * total);
    }
  }

  private weighted(r: GroupRoute, names: string[], at: number, excludeSelf: boolean): string | undefined {
    let left = at;
    for (const n of names) {
      if (!this.eligible(r, n, excludeSelf)) continue;
      left -= r.nodes.get(n)!;
      if (left < 0) return n;
    }
    return undefined;
  }

  private eligible(r: GroupRoute, node: string, excludeSelf: boolean): boolean {
    if (node === this.self) return !excludeSelf && (r.nodes.get(node) ?? 0) > 0;
    return (r.nodes.get(node) ?? 0) > 0 && this.isAlive(node);
  }

  private change(group: string, filter: string, delta: number): void {
    if (delta < 0 && this.get(group, filter) === undefined) return;
    const r = this.routeFor(group, filter);
    const count = (r.nodes.get(this.self) ?? 0) + delta;
    if (count > 0) {
      if (!r.nodes.has(this.self)) r.sorted = undefined;
      r.nodes.set(this.self, count);
    } else {
      r.nodes.delete(this.self);
      r.sorted = undefined;
      if (r.nodes.size === 0) this.drop(r);
    }
    this.write(r);
  }

  /** The route of (group, filter), made empty when new. */
  private routeFor(group: string, filter: string): GroupRoute {
    const key = routeKey(group, filter);
    let r = this.routes.get(key);
    if (r === undefined) {
      r = { group, filter, nodes: new Map(), sorted: undefined, cursor: 0, sticky: undefined };
      this.routes.set(key, r);
      this.list.push(r);
    }
    return r;
  }

  private drop(r: GroupRoute): void {
    this.routes.delete(routeKey(r.group, r.filter));
    this.list = this.list.filter((x) => x !== r);
  }

  /** Writes this node's current count for the route (a delete at zero), one write per key at a time. */
  private write(r: GroupRoute): void {
    const key = entryKey(this.self, r.group, r.filter);
    if (this.writing.has(key)) {
      this.again.add(key);
      return;
    }
    const kv = this.kv;
    if (kv === undefined) return;
    const members = r.nodes.get(this.self) ?? 0;
    const value: EntryValue = { group: r.group, filter: r.filter, node: this.self, members };
    const done = (members > 0 ? kv.put(key, jsonBytes(value)) : kv.delete(key)).then(
      () => {
        if (this.failing) logger.info('cluster: shared-subscription members written again');
        this.failing = false;
      },
      (err: unknown) => {
        if (!this.failing)
          logger.warn(
            { err: (err as Error).message, group: r.group, filter: r.filter },
            'cluster: shared-subscription members not written; other nodes will not pick this node until the bus is back',
          );
        this.failing = true;
      },
    );
    const tracked = done.finally(() => {
      this.writing.delete(key);
      if (this.again.delete(key)) {
        // The latest count wins, whether or not the route still exists here.
        const cur = this.routes.get(routeKey(r.group, r.filter)) ?? r;
        this.write(cur);
      }
    });
    this.writing.set(key, tracked);
  }

  private async follow(watch: AsyncIterable<KvEntry>, initialSeq: number, loaded: () => void): Promise<void> {
    const ownPrefix = `${kvKey(this.self)}.`;
    try {
      for await (const e of watch) {
        if (e.key.startsWith(ownPrefix)) {
          // A key left by an earlier run of this node: this run writes its own.
          if (e.operation === 'PUT' && e.revision <= initialSeq) void this.kv?.delete(e.key).catch(() => {});
        } else this.apply(e);
        if (e.revision >= initialSeq) loaded();
      }
    } catch (err) {
      logger.warn({ err }, 'cluster: shared-subscription watch ended');
    } finally {
      loaded();
    }
  }

  private apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      // A delete names only the key: find the route by the node and hash it holds.
      const dot = e.key.indexOf('.');
      const node = dot < 0 ? undefined : fromKvKey(e.key.slice(0, dot));
      if (node === undefined) return;
      for (const r of [...this.list]) {
        if (entryKey(node, r.group, r.filter) !== e.key || !r.nodes.delete(node)) continue;
        r.sorted = undefined;
        if (r.nodes.size === 0) this.drop(r);
      }
      return;
    }
    let v: EntryValue;
    try {
      v = e.json<EntryValue>();
    } catch {
      logger.warn({ key: e.key }, 'cluster: unreadable shared-subscription entry ignored');
      return;
    }
    if (typeof v.group !== 'string' || typeof v.filter !== 'string' || typeof v.node !== 'string') return;
    const r = this.routeFor(v.group, v.filter);
    if (!r.nodes.has(v.node)) r.sorted = undefined;
    r.nodes.set(v.node, Math.max(1, Math.floor(Number(v.members)) || 1));
  }
}

/** `<node>.<hash>`: the node part lets a node find (and a survivor clean) its own keys. */
export function entryKey(node: string, group: string, filter: string): string {
  const h = createHash('sha256').update(routeKey(group, filter), 'utf8').digest('base64url');
  return `${kvKey(node)}.${h}`;
}
