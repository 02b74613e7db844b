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

/**
 * What a trie level holds: a node, or, when the level would only carry one filter's entry (the filter ends
 * there, or continues with a final '#') and nothing else, that entry itself. Most wildcard filters end in a
 * level of their own (`a/+/<id>`, `+/b/<id>`, `a/<id>/#`): the node they needed was 56 of the 216 heap bytes
 * of each of the subscriptions curve's subscriptions (heap snapshot, 100 k filters, 2026-12-04). A slot turns
 * into a node when a second filter needs that level.
 */
type Slot = TrieNode | RouteEntry;

/** How many walked prefixes the router remembers (Router.recent). */
const RECENT_PREFIXES = 4;

/** True when the entry is a filter's '#' level (`…/#`): it then stands for a node's `hash`, else its `entry`. */
function endsInHash(e: RouteEntry): boolean {
  const f = e.filter;
  return f.length >= 2 && f.charCodeAt(f.length - 1) === 0x23 && f.charCodeAt(f.length - 2) === 0x2f;
}

class TrieNode {
  children: Map<string, Slot> | undefined;
  /** The '+' child. */
  plus: Slot | undefined;
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

  child(level: string): Slot | undefined {
    return level === '+' ? this.plus : this.children?.get(level);
  }

  setChild(level: string, slot: Slot | undefined): void {
    if (level === '+') this.plus = slot;
    else if (slot === undefined) this.children?.delete(level);
    else (this.children ??= new Map()).set(level, slot);
  }
}

/**
 * Where a wildcard filter's entry level starts: after its last '/', or after the one before a final '/#'.
 * A loop rather than lastIndexOf, which V8 runs in C++ (String::LastIndexOf, 1.4 % of the broker's
 * SUBSCRIBE CPU in perf, 2026-12-05).
 */
function entryLevelStart(filter: string): number {
  let i = filter.length - 1;
  if (i >= 1 && filter.charCodeAt(i) === 0x23 && filter.charCodeAt(i - 1) === 0x2f) i -= 2;
  while (i >= 0 && filter.charCodeAt(i) !== 0x2f) i--;
  return i + 1;
}

/** The node a slot stands for, made and put in its place when the slot is an entry. */
function nodeAt(parent: TrieNode, level: string, slot: RouteEntry): TrieNode {
  const node = new TrieNode();
  if (endsInHash(slot)) node.hash = slot;
  else node.entry = slot;
  parent.setChild(level, node);
  return node;
}

export class Router {
  private readonly exact = new Map<string, RouteEntry>();
  private readonly root = new TrieNode();
  private wildcardCount = 0;
  /**
   * The nodes the last few wildcard filters' entry levels hang from, by their prefix (`a/7/+` for
   * `a/7/+/k`): a client's filters often share their levels but the last, and a SUBSCRIBE of many such
   * filters then skips walking them level by level. Router.add of the subscriptions curve's filters went
   * from ~4 340 to ~4 010 instructions a filter (callgrind, 3 × 100 k filters, 2026-12-05). Cleared by
   * every removal, which may prune a remembered node.
   */
  private readonly recent: { prefix: string; node: TrieNode }[] = [];
  private recentNext = 0;
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
    // A leading wildcard never matches a $-topic [MQTT-4.7.2-1].
    walk(this.root, topic, 0, out, topic.charCodeAt(0) === 0x24);
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
    if (filter === '#') {
      if (this.root.hash === undefined && create) {
        this.root.hash = new RouteEntry(filter);
        this.wildcardCount++;
      }
      return this.root.hash;
    }
    let node = this.root;
    let start = 0;
    const entryStart = entryLevelStart(filter);
    const cached = create && entryStart > 0 ? this.recentNode(filter, entryStart - 1) : undefined;
    if (cached !== undefined) {
      node = cached;
      start = entryStart;
    }
    for (;;) {
      if (create && start === entryStart && start > 0 && cached === undefined)
        this.remember(filter, start - 1, node);
      const slash = filter.indexOf('/', start);
      const end = slash < 0 ? filter.length : slash;
      const level = end - start === 1 && filter.charCodeAt(start) === 0x2b ? '+' : filter.slice(start, end);
      const slot = node.child(level);
      // The filter's entry is at this level's slot when the filter ends here or goes on with a final '#'.
      const hashNext = slash >= 0 && slash + 2 === filter.length && filter.charCodeAt(slash + 1) === 0x23;
      if (slash < 0 || hashNext) {
        if (slot === undefined) {
          if (!create) return undefined;
          const e = new RouteEntry(filter);
          this.wildcardCount++;
          node.setChild(level, e);
          return e;
        }
        let at: TrieNode;
        if (slot instanceof RouteEntry) {
          if (endsInHash(slot) === hashNext) return slot;
          if (!create) return undefined;
          at = nodeAt(node, level, slot);
        } else at = slot;
        let e = hashNext ? at.hash : at.entry;
        if (e === undefined && create) {
          e = new RouteEntry(filter);
          this.wildcardCount++;
          if (hashNext) at.hash = e;
          else at.entry = e;
        }
        return e;
      }
      if (slot === undefined) {
        if (!create) return undefined;
        const made = new TrieNode();
        node.setChild(level, made);
        node = made;
      } else if (slot instanceof RouteEntry) {
        if (!create) return undefined;
        node = nodeAt(node, level, slot);
      } else node = slot;
      start = slash + 1;
    }
  }

  /** The node of a remembered prefix that is `filter`'s first `length` characters. */
  private recentNode(filter: string, length: number): TrieNode | undefined {
    const r = this.recent;
    for (let i = 0; i < r.length; i++) {
      const p = r[i]!.prefix;
      if (p.length === length && filter.startsWith(p)) return r[i]!.node;
    }
    return undefined;
  }

  private remember(filter: string, length: number, node: TrieNode): void {
    const r = this.recent;
    const slot = { prefix: filter.slice(0, length), node };
    if (r.length < RECENT_PREFIXES) r.push(slot);
    else r[this.recentNext] = slot;
    this.recentNext = (this.recentNext + 1) % RECENT_PREFIXES;
  }

  private dropEntry(filter: string): void {
    // A removal may prune remembered nodes from the trie: adding under one would lose the subscription.
    this.recent.length = 0;
    this.recentNext = 0;
    if (!isWildcard(filter)) {
      this.exact.delete(filter);
      return;
    }
    if (filter === '#') {
      if (this.root.hash !== undefined) this.wildcardCount--;
      this.root.hash = undefined;
      return;
    }
    const levels = filter.split('/');
    const hashEnd = levels[levels.length - 1] === '#';
    // The level whose slot holds the entry: the last, or the one before a final '#'.
    const last = levels.length - (hashEnd ? 2 : 1);
    // path[i] is the node whose child at levels[i] leads on.
    const path: TrieNode[] = [];
    let node = this.root;
    for (let i = 0; i < last; i++) {
      const next = node.child(levels[i]!);
      if (!(next instanceof TrieNode)) return;
      path.push(node);
      node = next;
    }
    path.push(node);
    const slot = node.child(levels[last]!);
    if (slot === undefined) return;
    if (slot instanceof RouteEntry) {
      if (slot.filter !== filter) return;
      node.setChild(levels[last]!, undefined);
    } else {
      if ((hashEnd ? slot.hash : slot.entry) === undefined) return;
      if (hashEnd) slot.hash = undefined;
      else slot.entry = undefined;
      if (!slot.isEmpty()) {
        this.wildcardCount--;
        return;
      }
      node.setChild(levels[last]!, undefined);
    }
    this.wildcardCount--;
    // Prune nodes left empty, bottom up (the root stays).
    for (let i = last; i > 0; i--) {
      if (!path[i]!.isEmpty()) break;
      path[i - 1]!.setChild(levels[i - 1]!, undefined);
    }
  }
}

/**
 * Appends the entries under `node` that match the topic's levels from index `start` (the first character of
 * a level; past `topic.length` once every level is consumed). Levels are cut by position rather than with
 * `topic.split('/')`: no array and no string for a level no node has children to look up (a `+` or `#`
 * level). Publishing `bench/in/<n>` into `bench/in/+` (S3.shared's routing), one match incl. making the topic
 * string went from ~490–640 to ~240–370 ns (micro-benchmark pinned to one core, load ≈ 4.7, 2026-12-05).
 */
function walk(node: TrieNode, topic: string, start: number, out: RouteEntry[], dollar: boolean): void {
  const skipWildcards = dollar && start === 0;
  if (node.hash !== undefined && !skipWildcards) out.push(node.hash);
  if (start > topic.length) {
    if (node.entry !== undefined) out.push(node.entry);
    return;
  }
  let end = topic.indexOf('/', start);
  if (end < 0) end = topic.length;
  const children = node.children;
  if (children !== undefined && children.size > 0) {
    const child = children.get(topic.slice(start, end));
    if (child !== undefined) visit(child, topic, end + 1, out, dollar);
  }
  if (node.plus !== undefined && !skipWildcards) visit(node.plus, topic, end + 1, out, dollar);
}

/** walk() for a slot reached at the level starting at `start` (≥ 1: the $-topic rule only concerns the first). */
function visit(slot: Slot, topic: string, start: number, out: RouteEntry[], dollar: boolean): void {
  if (slot instanceof TrieNode) walk(slot, topic, start, out, dollar);
  // A '#' entry matches its own level and everything below; any other only where the topic ends.
  else if (endsInHash(slot) || start > topic.length) out.push(slot);
}

function* collect(slot: Slot): IterableIterator<RouteEntry> {
  if (slot instanceof RouteEntry) {
    yield slot;
    return;
  }
  if (slot.entry) yield slot.entry;
  if (slot.hash) yield slot.hash;
  if (slot.plus) yield* collect(slot.plus);
  if (slot.children) for (const c of slot.children.values()) yield* collect(c);
}
