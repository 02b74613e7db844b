/**
 * A session's subscriptions: the topic as the client wrote it → its options, in the order they were first
 * subscribed, read as a Map. Adding a topic the caller knows to be new (Router.add said so: the route table
 * holds the same subscriptions, keyed by filter, group and session) appends to an array, with no hash of
 * the topic and no hash table to grow. In place of the per-session Map this took the broker from ~7 500 to
 * ~6 950 instructions per SUBSCRIBE filter (callgrind, the subscriptions curve's filters, 7 rounds of 10 k
 * in one process after a first, three runs, 2026-12-05) and the heap per subscription from 175 to 162 B
 * (bench/subscribe-rate.ts, 100 k filters). The topic → position index a lookup needs is built by the
 * first lookup and kept after; a session that never looks up never has one.
 */
import type { SubOpts } from './types.js';

/** What readers of a session's subscriptions may do: a ReadonlyMap's reads. */
export interface Subscriptions extends Iterable<[string, SubOpts]> {
  readonly size: number;
  get(topic: string): SubOpts | undefined;
  has(topic: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<SubOpts>;
  entries(): IterableIterator<[string, SubOpts]>;
  forEach(fn: (opts: SubOpts, topic: string) => void): void;
}

/** Up to this many slots (8 subscriptions) the array grows by exact copies (SubscriptionTable.set). */
const EXACT_UP_TO = 16;

/** Removed slots tolerated before the arrays are compacted, beyond as many as there are live ones. */
const SLACK = 16;

export class SubscriptionTable implements Subscriptions {
  /**
   * Topic at 2i, its options at 2i + 1; both undefined where one was removed. One array, not two: a session
   * with one subscription holds a 2-slot array, less than an empty Map (~180 B).
   */
  private slots: (string | SubOpts | undefined)[] = [];
  /** Topic → its slot, made by the first lookup. */
  private index: Map<string, number> | undefined;
  private live = 0;

  get size(): number {
    return this.live;
  }

  /**
   * Adds or replaces a subscription; true when the topic is new. `isNew` true, when the caller knows the
   * topic is absent, saves the lookup; anything else looks it up.
   */
  set(topic: string, opts: SubOpts, isNew?: boolean): boolean {
    if (isNew !== true) {
      const at = this.positionOf(topic);
      if (at !== undefined) {
        this.slots[at + 1] = opts;
        return false;
      }
    }
    const at = this.slots.length;
    // A small array is replaced by an exact copy one longer: push would grow 2 slots to 19, and a session
    // of 3 subscriptions would hold more than with a Map (374 against 269 B, 2026-12-05).
    if (at < EXACT_UP_TO) this.slots = at === 0 ? [topic, opts] : this.slots.concat(topic, opts);
    else this.slots.push(topic, opts);
    this.index?.set(topic, at);
    this.live++;
    return true;
  }

  /** Removes a subscription; true when there was one. */
  delete(topic: string): boolean {
    const at = this.positionOf(topic);
    if (at === undefined) return false;
    this.index!.delete(topic);
    this.slots[at] = undefined;
    this.slots[at + 1] = undefined;
    this.live--;
    if (this.live === 0) this.clear();
    else if (this.slots.length / 2 - this.live > this.live + SLACK) this.compact();
    return true;
  }

  clear(): void {
    if (this.slots.length === 0) return;
    this.slots = [];
    this.index = undefined;
    this.live = 0;
  }

  get(topic: string): SubOpts | undefined {
    const at = this.positionOf(topic);
    return at === undefined ? undefined : (this.slots[at + 1] as SubOpts);
  }

  has(topic: string): boolean {
    return this.positionOf(topic) !== undefined;
  }

  *entries(): IterableIterator<[string, SubOpts]> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 2) {
      const t = slots[i] as string | undefined;
      if (t !== undefined) yield [t, slots[i + 1] as SubOpts];
    }
  }

  *keys(): IterableIterator<string> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 2) if (slots[i] !== undefined) yield slots[i] as string;
  }

  *values(): IterableIterator<SubOpts> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 2) if (slots[i] !== undefined) yield slots[i + 1] as SubOpts;
  }

  [Symbol.iterator](): IterableIterator<[string, SubOpts]> {
    return this.entries();
  }

  forEach(fn: (opts: SubOpts, topic: string) => void): void {
    for (const [t, o] of this.entries()) fn(o, t);
  }

  private positionOf(topic: string): number | undefined {
    if (this.live === 0) return undefined;
    if (this.index === undefined) {
      const index = new Map<string, number>();
      const slots = this.slots;
      for (let i = 0; i < slots.length; i += 2) if (slots[i] !== undefined) index.set(slots[i] as string, i);
      this.index = index;
    }
    return this.index.get(topic);
  }

  /** Drops the removed slots, keeping the order. */
  private compact(): void {
    const slots: (string | SubOpts)[] = [];
    for (const [t, o] of this.entries()) slots.push(t, o);
    this.slots = slots;
    this.index = undefined;
  }
}
