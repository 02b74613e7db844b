/**
 * The bounded FIFO of deliveries waiting for a session: offline, inflight window full, or transport busy.
 * A ring buffer of parallel arrays, so queueing allocates nothing per message once warmed up.
 */
import type { Message } from './message.js';
import type { SubOpts } from './types.js';

export type DropPolicy = 'drop_oldest' | 'drop_newest';

export interface QueuedDelivery {
  msg: Message;
  opts: SubOpts;
  /** Deliver with RETAIN set (a retained message sent because of a new subscription). */
  retained: boolean;
}

// The slot arrays of every empty queue until its first push (grow() replaces them, nothing writes into
// this one): three empty arrays of its own cost an idle connection's session ~100 B.
const NO_SLOTS: never[] = [];

export class MessageQueue {
  private msgs: (Message | undefined)[] = NO_SLOTS;
  private opts: (SubOpts | undefined)[] = NO_SLOTS;
  private retained: boolean[] = NO_SLOTS;
  private head = 0;
  private size = 0;
  /** Messages this queue dropped because it was full. */
  dropped = 0;

  constructor(
    public maxLen: number,
    public dropPolicy: DropPolicy,
  ) {}

  get length(): number {
    return this.size;
  }

  /**
   * Appends a delivery. When full, drops per policy and returns the dropped message (which may be the
   * one offered, under drop_newest), else undefined.
   */
  push(msg: Message, opts: SubOpts, retained: boolean): Message | undefined {
    if (this.maxLen <= 0) {
      this.dropped++;
      return msg;
    }
    let victim: Message | undefined;
    if (this.size >= this.maxLen) {
      this.dropped++;
      if (this.dropPolicy === 'drop_newest') return msg;
      victim = this.msgs[this.head];
      this.dropHead();
    }
    this.grow();
    const cap = this.msgs.length;
    const i = (this.head + this.size) % cap;
    this.msgs[i] = msg;
    this.opts[i] = opts;
    this.retained[i] = retained;
    this.size++;
    return victim;
  }

  /** The oldest delivery without removing it. */
  peekOpts(): SubOpts | undefined {
    return this.size === 0 ? undefined : this.opts[this.head];
  }

  peekMessage(): Message | undefined {
    return this.size === 0 ? undefined : this.msgs[this.head];
  }

  /** Whether the oldest delivery goes out with RETAIN set (false when empty). */
  peekRetained(): boolean {
    return this.size === 0 ? false : this.retained[this.head]!;
  }

  /** Removes and returns the oldest delivery. */
  shift(): QueuedDelivery | undefined {
    if (this.size === 0) return undefined;
    const i = this.head;
    const d: QueuedDelivery = { msg: this.msgs[i]!, opts: this.opts[i]!, retained: this.retained[i]! };
    this.dropHead();
    return d;
  }

  /**
   * Removes the oldest delivery, which the caller read with the peek methods. Session.drain takes every
   * backlogged delivery this way: shift()'s object per message was garbage at once (S3, every message).
   */
  dropHead(): void {
    if (this.size === 0) return;
    const i = this.head;
    this.msgs[i] = undefined;
    this.opts[i] = undefined;
    this.head = (i + 1) % this.msgs.length;
    this.size--;
  }

  /** Removes every delivery matching `pred`, returning them in order (shared-subscription redispatch). */
  extract(pred: (d: QueuedDelivery) => boolean): QueuedDelivery[] {
    const kept: QueuedDelivery[] = [];
    const taken: QueuedDelivery[] = [];
    for (let d = this.shift(); d !== undefined; d = this.shift()) (pred(d) ? taken : kept).push(d);
    for (const d of kept) this.push(d.msg, d.opts, d.retained);
    return taken;
  }

  /** Every queued delivery, oldest first (for the API and persistence). */
  toArray(): QueuedDelivery[] {
    const out: QueuedDelivery[] = [];
    const cap = this.msgs.length;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % cap;
      out.push({ msg: this.msgs[i]!, opts: this.opts[i]!, retained: this.retained[i]! });
    }
    return out;
  }

  clear(): void {
    this.msgs = NO_SLOTS;
    this.opts = NO_SLOTS;
    this.retained = NO_SLOTS;
    this.head = 0;
    this.size = 0;
  }

  private grow(): void {
    const cap = this.msgs.length;
    if (this.size < cap) return;
    const next = Math.max(8, cap * 2);
    const msgs: (Message | undefined)[] = new Array(next);
    const opts: (SubOpts | undefined)[] = new Array(next);
    const retained: boolean[] = new Array(next);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % cap;
      msgs[k] = this.msgs[i];
      opts[k] = this.opts[i];
      retained[k] = this.retained[i]!;
    }
    this.msgs = msgs;
    this.opts = opts;
    this.retained = retained;
    this.head = 0;
  }
}
