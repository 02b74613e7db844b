/**
 * Retained messages indexed by topic in a level trie: an exact topic is one walk down its levels, and a
 * wildcard subscription finds its matches without scanning every retained topic.
 *
 * There is no second topic → message map beside the trie: it cost 38 heap bytes and one more hash insert per
 * retained message (100 000 stored messages of S5's shape with their index: 528 → 490 bytes each, heapUsed
 * after gc, 2026-12-04), and exact lookups are rare (a publish asks `has` only once max_retained_messages
 * is reached; the API asks `get`).
 */
import type { Message } from './message.js';

class Node {
  children: Map<string, Node> | undefined = undefined;
  msg: Message | undefined = undefined;
}

export class RetainedIndex {
  private readonly root = new Node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: string): Message | undefined {
    return this.find(topic)?.msg;
  }

  has(topic: string): boolean {
    return this.find(topic)?.msg !== undefined;
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
      node.children ??= new Map();
      let next = node.children.get(level);
      if (next === undefined) {
        next = new Node();
        node.children.set(level, next);
      }
      node = next;
      if (end < 0) break;
      start = end + 1;
    }
    if (node.msg === undefined) this.count++;
    node.msg = msg;
  }

  delete(topic: string): boolean {
    const levels = topic.split('/');
    const path: Node[] = [this.root];
    let node = this.root;
    for (const level of levels) {
      const next = node.children?.get(level);
      if (next === undefined) return false;
      path.push(next);
      node = next;
    }
    if (node.msg === undefined) return false;
    node.msg = undefined;
    this.count--;
    // Prune the nodes left without message or children, bottom up.
    for (let i = levels.length; i > 0; i--) {
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

  private find(topic: string): Node | undefined {
    let node: Node | undefined = this.root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      node = node.children?.get(end < 0 ? topic.slice(start) : topic.slice(start, end));
      if (node === undefined || end < 0) return node;
      start = end + 1;
    }
  }
}

function matchLevels(node: Node, levels: string[], i: number, out: Message[]): void {
  if (i === levels.length) {
    if (node.msg !== undefined) out.push(node.msg);
    return;
  }
  const level = levels[i]!;
  if (level === '#') {
    // '#' also matches the parent level itself ("a/#" matches "a").
    if (node.msg !== undefined && i > 0) out.push(node.msg);
    collectAll(node, out, i === 0);
    return;
  }
  if (node.children === undefined) return;
  if (level === '+') {
    for (const [name, child] of node.children) {
      if (i === 0 && name.startsWith('$')) continue;
      matchLevels(child, levels, i + 1, out);
    }
    return;
  }
  const child = node.children.get(level);
  if (child !== undefined) matchLevels(child, levels, i + 1, out);
}

function collectAll(node: Node, out: Message[], skipDollar: boolean): void {
  if (node.children === undefined) return;
  for (const [name, child] of node.children) {
    if (skipDollar && name.startsWith('$')) continue;
    if (child.msg !== undefined) out.push(child.msg);
    collectAll(child, out, false);
  }
}
