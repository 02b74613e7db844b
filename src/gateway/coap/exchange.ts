/**
 * The CoAP message layer's state for one peer (RFC 7252 §4): message ids for what the server sends,
 * de-duplication of what the peer sends (a repeated CON gets the very reply it got first), and
 * retransmission of Confirmable messages with exponential back-off until acknowledged or given up.
 * Protocol-neutral: CoAP and LwM2M channels drive it with their own timers.
 */
import type { CoapMessage } from './message.js';

/** RFC 7252 §4.8 transmission parameters (ms). */
export interface TransmissionParams {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
}

/** RFC 7252 §4.8 defaults: ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4. */
export const DEFAULT_TRANSMISSION: TransmissionParams = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
};

/** EXCHANGE_LIFETIME (RFC 7252 §4.8.2): how long a message id is remembered, ~247 s. */
const EXCHANGE_LIFETIME_MS = 247_000;
/** Message ids remembered per peer at most: a flood cannot grow the cache without bound. */
const MAX_REMEMBERED = 256;

/** What a duplicate gets: the cached reply (undefined = still being answered, or nothing to resend). */
export type Duplicate = { reply: CoapMessage | undefined };

/** A Confirmable message in flight, with the caller's data (e.g. which observation it notifies). */
export interface Outstanding<D> {
  msg: CoapMessage;
  data: D;
  attempts: number;
  timeoutMs: number;
}

/** One peer's message-layer state. */
export class Exchanges<D> {
  private nextId = Math.floor(Math.random() * 0x10000);
  private readonly seen = new Map<number, { at: number; reply: CoapMessage | undefined }>();
  private readonly inflight = new Map<number, Outstanding<D>>();

  constructor(private readonly params: TransmissionParams = DEFAULT_TRANSMISSION) {}

  /** A fresh message id for a message the server originates. */
  newMessageId(): number {
    // Skip ids still in flight so an ACK is never matched to the wrong message.
    for (let n = 0; n < 0x10000; n++) {
      this.nextId = (this.nextId + 1) & 0xffff;
      if (!this.inflight.has(this.nextId)) return this.nextId;
    }
    return this.nextId;
  }

  /** A request id seen before within EXCHANGE_LIFETIME, else undefined (and it is now remembered). */
  duplicate(messageId: number, now = Date.now()): Duplicate | undefined {
    const hit = this.seen.get(messageId);
    if (hit !== undefined && now - hit.at < EXCHANGE_LIFETIME_MS) return { reply: hit.reply };
    if (hit !== undefined) this.seen.delete(messageId);
    this.prune(now);
    this.seen.set(messageId, { at: now, reply: undefined });
    return undefined;
  }

  /** Stores the reply sent for a request id, for its duplicates. */
  answered(messageId: number, reply: CoapMessage): void {
    const hit = this.seen.get(messageId);
    if (hit !== undefined) hit.reply = reply;
  }

  private prune(now: number): void {
    // Insertion order is arrival order: the oldest entries are first.
    for (const [id, e] of this.seen) {
      if (this.seen.size < MAX_REMEMBERED && now - e.at < EXCHANGE_LIFETIME_MS) break;
      this.seen.delete(id);
    }
  }

  /** Starts tracking a Confirmable message; answers the first retransmission timeout. */
  track(msg: CoapMessage, data: D): number {
    const p = this.params;
    const timeoutMs = Math.round(p.ackTimeoutMs * (1 + Math.random() * (p.ackRandomFactor - 1)));
    this.inflight.set(msg.messageId, { msg, data, attempts: 0, timeoutMs });
    return timeoutMs;
  }

  /** The peer acknowledged (ACK) or rejected (RST) a tracked message: it leaves the window. */
  settle(messageId: number): Outstanding<D> | undefined {
    const o = this.inflight.get(messageId);
    if (o !== undefined) this.inflight.delete(messageId);
    return o;
  }

  /**
   * The retransmission timer of a message fired: resend it with the doubled timeout, or give up after
   * MAX_RETRANSMIT retransmissions (it leaves the window).
   */
  timeout(messageId: number): { resend: Outstanding<D> } | { gaveUp: Outstanding<D> } | undefined {
    const o = this.inflight.get(messageId);
    if (o === undefined) return undefined;
    if (o.attempts >= this.params.maxRetransmit) {
      this.inflight.delete(messageId);
      return { gaveUp: o };
    }
    o.attempts++;
    o.timeoutMs *= 2;
    return { resend: o };
  }

  /** Messages in flight. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Everything in flight (to abandon on close). */
  drain(): Outstanding<D>[] {
    const all = [...this.inflight.values()];
    this.inflight.clear();
    return all;
  }
}
