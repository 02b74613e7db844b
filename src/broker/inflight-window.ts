/**
 * The outgoing QoS 1/2 deliveries of a session awaiting their acknowledgement, by packet id, in the order
 * they were sent.
 *
 * Why not a Map alone: a client that acks each message before the next (lone traffic) empties the map on
 * every PUBACK, and V8 shrinks a Map's table when a delete leaves it under half full, allocating a new table
 * in a runtime call (MapShrink/Rehash); a set into a table full of deleted slots rehashes again. That was
 * ~1 % of the broker's user time per lone QoS 1 round trip (perf, 2026-12-05). With the entry in fields,
 * Map.delete (with the shrink under it) fell from 320-470 to 26-88 instructions per round trip and Rehash
 * from 220-290 to 17-83 (callgrind, lone QoS 1 pub→sub, 2026-12-05). So the oldest entry sits in two
 * fields while nothing else is in flight, and only a second entry in flight uses a Map.
 */
export class InflightWindow<V> implements ReadonlyMap<number, V> {
  /**
   * Packet id of the entry held in `first`, or 0 (never a valid packet id). It is only set while `more` is
   * empty, so it is always the oldest entry and the iteration order stays the order of sending.
   */
  private firstId = 0;
  private first: V | undefined;
  /** Entries sent after `first`, or after it was acked while these were still in flight. */
  private more: Map<number, V> | undefined;

  get size(): number {
    return (this.firstId === 0 ? 0 : 1) + (this.more === undefined ? 0 : this.more.size);
  }

  get(id: number): V | undefined {
    if (id === this.firstId) return this.first;
    return this.more?.get(id);
  }

  has(id: number): boolean {
    if (id === this.firstId) return true;
    return this.more?.has(id) === true;
  }

  /** Adds an entry sent after every entry already here (packet ids in flight are unique). */
  add(id: number, v: V): void {
    if (this.firstId === 0 && (this.more === undefined || this.more.size === 0)) {
      this.firstId = id;
      this.first = v;
      return;
    }
    this.more ??= new Map();
    this.more.set(id, v);
  }

  delete(id: number): boolean {
    if (id === this.firstId) {
      this.firstId = 0;
      this.first = undefined;
      return true;
    }
    return this.more?.delete(id) === true;
  }

  clear(): void {
    this.firstId = 0;
    this.first = undefined;
    this.more?.clear();
  }

  /** Entries in sending order. Deleting the entry just visited during the iteration is safe, as with a Map. */
  *entries(): MapIterator<[number, V]> {
    if (this.firstId !== 0) yield [this.firstId, this.first as V];
    if (this.more !== undefined) yield* this.more.entries();
  }

  *keys(): MapIterator<number> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }

  forEach(fn: (v: V, id: number, window: ReadonlyMap<number, V>) => void): void {
    for (const [id, v] of this.entries()) fn(v, id, this);
  }
}
