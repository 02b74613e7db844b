/**
 * Retained messages indexed by topic: a map for exact lookups and a level trie so a wildcard subscription
 * finds its matches without scanning every retained topic.
 */
import type { Message } from './message.js';

class Node {
  children: Map<string, Node> | undefined;
  msg: Message | undefined;
}

export class RetainedIndex {
  private readonly byTopic = new Map<string, Message>();
  private readonly root = new Node();

  get size(): number {
    return this.byTopic.size;
  }

  get(topic: string): Message | undefined {
    return this.byTopic.get(topic);
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  set(msg: Message): void {
    this.byTopic.set(msg.topic, msg);
    let node = this.root;
    for (const level of msg.topic.split('/')) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (next === undefined) {
        next = new Node();
        node.children.set(level, next);
      }
      node = next;
    }
    node.msg = msg;
  }

  delete(topic: string): boolean {
    if (!this.byTopic.delete(topic)) return false;
    const path: Node[] = [this.root];
    const levels = topic.split('/');
    let node = this.root;
    for (const level of levels) {
      const next = node.children?.get(level);
      if (next === undefined) return true;
      path.push(next);
      node = next;
    }
    node.msg = undefined;
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.msg !== undefined || (n.children !== undefined && n.children.size > 0)) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
    return true;
  }

  clear(): void {
    this.byTopic.clear();
    this.root.children = undefined;
  }

  /** Messages whose topic matches `filter` ('$' topics are not matched by a leading wildcard). */
  match(filter: string, out: Message[] = []): Message[] {
    // Every SUBSCRIBE filter asks (the retainer's session.subscribed): with no retained message at all the
    // answer needs no split of the filter nor a walk, which cost 0.5 µs a filter on an empty store (profile of
    // bench/subscribe-rate.ts, 100 k filters, 2026-12-04).
    if (this.byTopic.size === 0) return out;
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.byTopic.get(filter);
      if (m !== undefined) out.push(m);
      return out;
    }
    matchLevels(this.root, filter.split('/'), 0, out);
    return out;
  }

  values(): IterableIterator<Message> {
    return this.byTopic.values();
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
