/**
 * One timer for every connection's deadline (keepalive, idle before login): a sweep each second is far
 * cheaper than re-arming a timer per connection on every packet.
 */

export interface Watched {
  /**
   * True once the deadline (epoch ms) is past at `now`. A boolean rather than the deadline: a double
   * returned from a call per connection per sweep is a heap number each (conn-memory.ts, 2026-12-04).
   */
  expired(now: number): boolean;
  onDeadline(): void;
}

export class DeadlineMonitor<W extends Watched = Watched> {
  private readonly watched = new Set<W>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly periodMs = 1000) {}

  add(w: W): void {
    this.watched.add(w);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      this.timer.unref();
    }
  }

  remove(w: W): void {
    this.watched.delete(w);
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.watched.size;
  }

  /**
   * What is watched now, live. An owner whose every connection is watched from open to close (the MQTT
   * host's channels) lists its connections with it instead of keeping a second Set: one Set add and delete
   * less per connection. A member leaves it just before its onDeadline runs.
   */
  get members(): ReadonlySet<W> {
    return this.watched;
  }

  private sweep(): void {
    const now = Date.now();
    for (const w of this.watched) {
      if (w.expired(now)) {
        this.watched.delete(w);
        w.onDeadline();
      }
    }
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
