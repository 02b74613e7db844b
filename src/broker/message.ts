/**
 * A message travelling through the broker. One object per publish, shared by every subscriber it reaches:
 * per-subscriber differences (QoS, retain flag, packet id) live in the delivery, not here.
 */
import type { QoS } from '../mqtt/codec/packets.js';
import type { MessageFlags, MessageHeaders, MessageProperties } from './types.js';

let sequence = 0;
let nodeTag = '0000';

/** Sets the 4-hex-digit node tag that goes into every message id (derived from the node name at boot). */
export function setMessageNodeTag(nodeName: string): void {
  let h = 0;
  for (let i = 0; i < nodeName.length; i++) h = (h * 31 + nodeName.charCodeAt(i)) & 0xffff;
  nodeTag = h.toString(16).padStart(4, '0');
}

export class Message {
  /** Broker-unique ordinal; the hex id is derived from it only when somebody asks. */
  readonly seq: number;
  /** Epoch ms when the broker accepted the message. */
  readonly timestamp: number;
  /** Epoch ms after which the message must not be delivered; 0 = never. */
  expiresAt: number;
  readonly flags: MessageFlags;
  headers: MessageHeaders;
  props: MessageProperties | undefined;
  /** Frames already serialized for this message, keyed by their variant (see mqtt/outgoing.ts). */
  frameCache: FrameCacheEntry | undefined;
  /**
   * Set by a publisher that applies its messages' message.publish folds in its own order, whatever order
   * they settle in (the MQTT channel: inPublishOrder); hooks may then let those folds overlap. Not copied
   * by withChanges: a rewritten message falls back to one fold at a time per publisher.
   */
  foldsInOrder = false;
  private cachedId: string | undefined;

  constructor(
    public topic: string,
    public payload: Buffer,
    public qos: QoS,
    /** Publisher client id ('' for the broker itself). */
    public from: string,
    retain: boolean,
    props?: MessageProperties,
    headers?: MessageHeaders,
    timestamp = Date.now(),
  ) {
    this.seq = ++sequence;
    this.timestamp = timestamp;
    this.flags = { retain, dup: false, sys: false };
    this.headers = headers ?? {};
    this.props = props;
    const expiry = props?.messageExpiryInterval;
    this.expiresAt = expiry !== undefined ? timestamp + expiry * 1000 : 0;
    this.frameCache = undefined;
    this.cachedId = undefined;
  }

  /** Unique, time-sortable id: 12 hex digits of ms timestamp, 4 of node, 16 of sequence (EMQX GUIDs are hex too). */
  get id(): string {
    if (this.cachedId === undefined) {
      this.cachedId =
        this.timestamp.toString(16).padStart(12, '0') + nodeTag + this.seq.toString(16).padStart(16, '0');
    }
    return this.cachedId;
  }

  /** True when the message's Message Expiry Interval has passed. */
  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }

  /** Seconds of life left, for the Message Expiry Interval sent onward; undefined if it never expires. */
  remainingExpiry(now: number): number | undefined {
    if (this.expiresAt === 0) return undefined;
    return Math.max(0, Math.ceil((this.expiresAt - now) / 1000));
  }

  /** A copy with another topic/payload/qos (hooks that rewrite a message must not mutate a shared one). */
  withChanges(changes: { topic?: string; payload?: Buffer; qos?: QoS; retain?: boolean }): Message {
    const m = new Message(
      changes.topic ?? this.topic,
      changes.payload ?? this.payload,
      changes.qos ?? this.qos,
      this.from,
      changes.retain ?? this.flags.retain,
      this.props,
      { ...this.headers },
      this.timestamp,
    );
    m.expiresAt = this.expiresAt;
    m.flags.sys = this.flags.sys;
    return m;
  }
}

/**
 * Hung off a message in place of its frame cache when the broker routed it to exactly one subscription: its
 * frame will not be sent again, so outgoing.ts builds it without keeping it. A message that waited in a queue
 * is in V8's old generation by the time its frame is built, and a frame hung off it there was promoted too (a
 * pointer from an old object keeps a young one alive through every scavenge) although nothing read it again:
 * fan-in to one subscriber or one shared-group member, every message of S3. Its key matches no variant.
 */
export const ONE_DELIVERY: FrameCacheEntry = {
  key: -2,
  frame: Buffer.alloc(0),
  packetIdOffset: -1,
  next: undefined,
};

/** One serialized frame variant, in a short linked list hung off the message. */
export interface FrameCacheEntry {
  key: number;
  frame: Buffer;
  packetIdOffset: number;
  next: FrameCacheEntry | undefined;
}
