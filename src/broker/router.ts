/**
 * The route table: topic filter → subscribers. Exact filters live in a hash map (one lookup per publish);
 * wildcard filters live in a trie walked level by level. Each filter's entry holds its plain subscribers
 * and its shared-subscription groups.
 */
import type { Session } from './session.js';
import { SharedGroup } from './shared-sub.js';
import { isWildcard } from './topic.js';
import type { SubOpts } from './types.js';

export class RouteEntry {
  /**
   * The plain subscriber while it is the only one, which most filters keep: a Map per filter took RSS per
   * subscription from 164 to 307 B and broker CPU per SUBSCRIBE filter from 3.1 to 3.5 µs (more objects for
   * the young-generation GC to copy; bench/subscribe-rate.ts, 100 k filters, 2026-12-04). The Map takes over
   * at the second subscriber.
   */
  private soleSession: Session | undefined;
  private soleOpts: SubOpts | undefined;
  private more: Map<Session, SubOpts> | undefined;
  groups: Map<string, SharedGroup> | undefined;

  constructor(readonly filter: string) {}

  get empty(): boolean {
    return this.subscriberCount === 0 && (this.groups === undefined || this.groups.size === 0);
  }

  /** Plain (not shared) subscribers. */
  get subscriberCount(): number {
    return this.soleSession !== undefined ? 1 : (this.more?.size ?? 0);
  }

  /** Adds or updates a plain subscriber; returns true when it is new. */
  setSubscriber(session: Session, opts: SubOpts): boolean {
    if (this.more !== undefined) {
      const added = !this.more.has(session);
      this.more.set(session, opts);
      return added;
    }
    if (this.soleSession === undefined || this.soleSession === session) {
      const added = this.soleSession === undefined;
      this.soleSession = session;
      this.soleOpts = opts;
      return added;
    }
    // Insertion order is delivery order: the first subscriber stays first.
    this.more = new Map([[this.soleSession, this.soleOpts!]]);
    this.more.set(session, opts);
    this.soleSession = undefined;
    this.soleOpts = undefined;
    return true;
  }

  /** Removes a plain subscriber; returns true when it was one. */
  deleteSubscriber(session: Session): boolean {
    if (this.soleSession === session) {
      this.soleSession = undefined;
      this.soleOpts = undefined;
      return true;
    }
    return this.more?.delete(session) ?? false;
  }

  /** The plain subscriber when it is the only one (then `oneOpts` are its options). */
  get one(): Session | undefined {
    return this.soleSession;
  }

  get oneOpts(): SubOpts | undefined {
    return this.soleOpts;
  }

  /** The plain subscribers when there were ever two or more (undefined otherwise). */
  get many(): ReadonlyMap<Session, SubOpts> | undefined {
    return this.more;
  }
}

class TrieNode {
  children: Map<string, TrieNode> | undefined;
  /** The '+' child. */
  plus: TrieNode | undefined;
  /** Entry for a filter ending in '#' at this node. */
  hash: RouteEntry | undefined;
  /** Entry for a filter ending exactly at this node (with a wildcard earlier). */
  entry: RouteEntry | undefined;

  isEmpty(): boolean {
    return (
      this.entry === undefined &&
      this.hash === undefined &&
      this.plus === undefined &&
      (this.children === undefined || this.children.size === 0)
    );
  }
}

export class Router {
  private readonly exact = new Map<string, RouteEntry>();
  private readonly root = new TrieNode();
  private wildcardCount = 0;
  /** Count of (session, filter) pairs, shared members included. */
  private subscriptionCount = 0;
  private sharedCount = 0;

  /** Distinct filters with at least one subscriber (EMQX `topics`). */
  get topicCount(): number {
    return this.exact.size + this.wildcardCount;
  }

  get subscriptions(): number {
    return this.subscriptionCount;
  }

  get sharedSubscriptions(): number {
    return this.sharedCount;
  }

  /** Adds or updates a subscription; returns true when it is new. */
  add(filter: string, session: Session, opts: SubOpts): boolean {
    const entry = this.entryFor(filter, true)!;
    let added: boolean;
    if (opts.share !== undefined) {
      entry.groups ??= new Map();
      let g = entry.groups.get(opts.share);
      if (g === undefined) {
        g = new SharedGroup(opts.share, filter);
        entry.groups.set(opts.share, g);
      }
      added = g.upsert(session, opts);
      if (added) this.sharedCount++;
    } else {
      added = entry.setSubscriber(session, opts);
    }
    if (added) this.subscriptionCount++;
    return added;
  }

  /** Removes a subscription; returns true when it existed. */
  remove(filter: string, session: Session, group: string | undefined): boolean {
    const entry = this.entryFor(filter, false);
    if (entry === undefined) return false;
    let removed: boolean;
    if (group !== undefined) {
      const g = entry.groups?.get(group);
      removed = g?.remove(session) ?? false;
      if (removed) this.sharedCount--;
      if (g !== undefined && g.size === 0) entry.groups!.delete(group);
    } else {
      removed = entry.deleteSubscriber(session);
    }
    if (removed) this.subscriptionCount--;
    if (entry.empty) this.dropEntry(filter);
    return removed;
  }

  /** Appends to `out` every entry whose filter matches `topic`. */
  match(topic: string, out: RouteEntry[]): void {
    const e = this.exact.get(topic);
    if (e !== undefined) out.push(e);
    if (this.wildcardCount === 0) return;
    const levels = topic.split('/');
    // A leading wildcard never matches a $-topic [MQTT-4.7.2-1].
    walk(this.root, levels, 0, out, topic.charCodeAt(0) === 0x24);
  }

  /** The entry of one filter, if subscribed. */
  lookup(filter: string): RouteEntry | undefined {
    return this.entryFor(filter, false);
  }

  /** Every filter with subscribers. */
  *filters(): IterableIterator<RouteEntry> {
    yield* this.exact.values();
    yield* collect(this.root);
  }

  private entryFor(filter: string, create: boolean): RouteEntry | undefined {
    if (!isWildcard(filter)) {
      let e = this.exact.get(filter);
      if (e === undefined && create) {
        e = new RouteEntry(filter);
        this.exact.set(filter, e);
      }
      return e;
    }
    // Levels cut with indexOf rather than split('/'): no array per call. In profiles of
    // bench/subscribe-rate.ts (100 k filters, 2026-12-04) this function went from 0.86 to 0.42 µs a filter.
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = filter.indexOf('/', start);
      const end = slash < 0 ? filter.length : slash;
      const one = end - start === 1 ? filter.charCodeAt(start) : 0;
      if (one === 0x23 /* # */ && slash < 0) {
        if (node.hash === undefined && create) {
          node.hash = new RouteEntry(filter);
          this.wildcardCount++;
        }
        return node.hash;
      }
      let next: TrieNode | undefined;
      if (one === 0x2b /* + */) {
        if (node.plus === undefined && create) node.plus = new TrieNode();
        next = node.plus;
      } else {
        const level = filter.slice(start, end);
        next = node.children?.get(level);
        if (next === undefined && create) {
          next = new TrieNode();
          node.children ??= new Map();
          node.children.set(level, next);
        }
      }
      if (next === undefined) return undefined;
      node = next;
      if (slash < 0) break;
      start = slash + 1;
    }
    if (node.entry === undefined && create) {
      node.entry = new RouteEntry(filter);
      this.wildcardCount++;
    }
    return node.entry;
  }

  private dropEntry(filter: string): void {
    if (!isWildcard(filter)) {
      this.exact.delete(filter);
      return;
    }
    const levels = filter.split('/');
    const path: Array<[TrieNode, string]> = [];
    let node = this.root;
    const last = levels.length - 1;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#' && i === last) {
        if (node.hash !== undefined) this.wildcardCount--;
        node.hash = undefined;
        break;
      }
      const next = level === '+' ? node.plus : node.children?.get(level);
      if (next === undefined) return;
      path.push([node, level]);
      node = next;
      if (i === last) {
        if (node.entry !== undefined) this.wildcardCount--;
        node.entry = undefined;
      }
    }
    // Prune nodes left empty, bottom up.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = level === '+' ? parent.plus : parent.children?.get(level);
      if (child === undefined || !child.isEmpty()) break;
      if (level === '+') parent.plus = undefined;
      else parent.children!.delete(level);
    }
  }
}

function walk(node: TrieNode, levels: string[], i: number, out: RouteEntry[], dollar: boolean): void {
  const skipWildcards = dollar && i === 0;
  if (node.hash !== undefined && !skipWildcards) out.push(node.hash);
  if (i === levels.length) {
    if (node.entry !== undefined) out.push(node.entry);
    return;
  }
  const child = node.children?.get(levels[i]!);
  if (child !== undefined) walk(child, levels, i + 1, out, dollar);
  if (node.plus !== undefined && !skipWildcards) walk(node.plus, levels, i + 1, out, dollar);
}

function* collect(node: TrieNode): IterableIterator<RouteEntry> {
  if (node.entry) yield node.entry;
  if (node.hash) yield node.hash;
  if (node.plus) yield* collect(node.plus);
  if (node.children) for (const c of node.children.values()) yield* collect(c);
}
