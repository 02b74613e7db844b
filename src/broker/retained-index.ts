/**
 * Retained messages indexed by topic in a level trie: an exact topic is one walk down its levels, and a
 * wildcard subscription finds its matches without scanning every retained topic.
 *
 * There is no second topic → message map beside the trie: it cost 38 heap bytes and one more hash insert per
 * retained message (100 000 stored messages of S5's shape with their index: 528 → 490 bytes each, heapUsed
 * after gc, 2026-12-04), and exact lookups are rare (a publish asks `has` only once max_retained_messages
 * is reached; the API asks `get`).
 *
 * A level with a message and nothing below it, which is what almost every retained topic ends in, is the
 * message itself in its parent's map rather than a node holding it: the node was 40 of the 497 heap bytes of
 * each of the retained curve's messages (heap snapshot by constructor, 100 000 topics `ret/<g>/<k>`,
 * 2026-12-04). It becomes a node when a topic below it is stored.
 */
import { Message } from './message.js';

class Node {
  children: Map<string, Slot> | undefined = undefined;
  msg: Message | undefined = undefined;
}

/** What a level of the trie holds: a node, or a message with nothing below it. */
type Slot = Node | Message;

function messageOf(s: Slot): Message | undefined {
  return s instanceof Message ? s : s.msg;
}

function childrenOf(s: Slot): Map<string, Slot> | undefined {
  return s instanceof Message ? undefined : s.children;
}

export class RetainedIndex {
  private readonly root = new Node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: string): Message | undefined {
    const s = this.find(topic);
    return s === undefined ? undefined : messageOf(s);
  }

  has(topic: string): boolean {
    return this.get(topic) !== undefined;
  }

  /** Stores `msg` under its topic, replacing the previous one. */
  set(msg: Message): void {
    const topic = msg.topic;
    let node = this.root;
    let start = 0;
    // Levels cut with indexOf instead of split('/'): no array per store.
    for (;;) {
      const end = topic.indexOf('/', start);
      const level = end < 0 ? topic.slice(start) : topic.slice(start, end);
      const children = (node.children ??= new Map());
      const next = children.get(level);
      if (end < 0) {
        // The last level: the message itself, or the node already there (it has topics below).
        if (next === undefined || next instanceof Message) {
          if (next === undefined) this.count++;
          children.set(level, msg);
        } else {
          if (next.msg === undefined) this.count++;
          next.msg = msg;
        }
        return;
      }
      if (next instanceof Node) node = next;
      else {
        // A level on the way down: a message there becomes a node holding it.
        const made = new Node();
        made.msg = next;
        children.set(level, made);
        node = made;
      }
      start = end + 1;
    }
  }

  delete(topic: string): boolean {
    const levels = topic.split('/');
    const path: Node[] = [this.root];
    let node = this.root;
    const last = levels.length - 1;
    for (let i = 0; i < last; i++) {
      const next = node.children?.get(levels[i]!);
      if (!(next instanceof Node)) return false;
      path.push(next);
      node = next;
    }
    const end = node.children?.get(levels[last]!);
    if (end === undefined) return false;
    if (end instanceof Message) node.children!.delete(levels[last]!);
    else {
      if (end.msg === undefined) return false;
      end.msg = undefined;
      if (end.children === undefined || end.children.size === 0) node.children!.delete(levels[last]!);
    }
    this.count--;
    // Prune the nodes left without message or children, bottom up.
    for (let i = last; i > 0; i--) {
      const n = path[i]!;
      if (n.msg !== undefined || (n.children !== undefined && n.children.size > 0)) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
    return true;
  }

  clear(): void {
    this.root.children = undefined;
    this.count = 0;
  }

  /** Messages whose topic matches `filter` ('$' topics are not matched by a leading wildcard). */
  match(filter: string, out: Message[] = []): Message[] {
    // Every SUBSCRIBE filter asks (the retainer's session.subscribed): with no retained message at all the
    // answer needs no split of the filter nor a walk, which cost 0.5 µs a filter on an empty store (profile of
    // bench/subscribe-rate.ts, 100 k filters, 2026-12-04).
    if (this.count === 0) return out;
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.get(filter);
      if (m !== undefined) out.push(m);
      return out;
    }
    matchLevels(this.root, filter.split('/'), 0, out);
    return out;
  }

  /** Every retained message. */
  values(): Message[] {
    const out: Message[] = [];
    collectAll(this.root, out, false);
    return out;
  }

  private find(topic: string): Slot | undefined {
    let slot: Slot | undefined = this.root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      slot = childrenOf(slot)?.get(end < 0 ? topic.slice(start) : topic.slice(start, end));
      if (slot === undefined || end < 0) return slot;
      start = end + 1;
    }
  }
}

function matchLevels(slot: Slot, levels: string[], i: number, out: Message[]): void {
  if (i === levels.length) {
    const m = messageOf(slot);
    if (m !== undefined) out.push(m);
    return;
  }
  const level = levels[i]!;
  if (level === '#') {
    // '#' also matches the parent level itself ("a/#" matches "a").
    const m = messageOf(slot);
    if (m !== undefined && i > 0) out.push(m);
    collectAll(slot, out, i === 0);
    return;
  }
  const children = childrenOf(slot);
  if (children === undefined) return;
  if (level === '+') {
    for (const [name, child] of children) {
      if (i === 0 && name.startsWith('$')) continue;
      matchLevels(child, levels, i + 1, out);
    }
    return;
  }
  const child = children.get(level);
  if (child !== undefined) matchLevels(child, levels, i + 1, out);
}

function collectAll(slot: Slot, out: Message[], skipDollar: boolean): void {
  const children = childrenOf(slot);
  if (children === undefined) return;
  for (const [name, child] of children) {
    if (skipDollar && name.startsWith('$')) continue;
    if (child instanceof Message) out.push(child);
    else {
      if (child.msg !== undefined) out.push(child.msg);
      collectAll(child, out, false);
    }
  }
}
