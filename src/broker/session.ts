/**
 * A client's session, whatever its protocol: subscriptions, the inflight window of outgoing QoS 1/2
 * messages, the queue of waiting deliveries, packet ids, and the set of incoming QoS 2 messages awaiting
 * release. A channel plugs in through a SessionOutlet that turns deliveries into its own frames; while no
 * outlet is attached (client offline) deliveries queue.
 */
import type { QoS } from '../mqtt/codec/packets.js';
import type { Hooks } from './hooks.js';
import { InflightWindow } from './inflight-window.js';
import type { Message } from './message.js';
import type { Metrics } from './metrics.js';
import { type DropPolicy, MessageQueue, type QueuedDelivery } from './mqueue.js';
import { type Subscriptions, SubscriptionTable } from './subscription-table.js';
import type { ClientInfo, SessionInfo, SubOpts } from './types.js';

/** How a channel receives deliveries from its session. */
export interface SessionOutlet {
  /** False while the transport is congested: deliveries wait in the queue instead. */
  readonly writable: boolean;
  /**
   * Sends one PUBLISH (packetId 0 for QoS 0). Returns false when the channel refuses it (e.g. larger than
   * the client's Maximum Packet Size); the session then counts it dropped and frees the packet id.
   */
  sendPublish(
    msg: Message,
    qos: QoS,
    packetId: number,
    retain: boolean,
    dup: boolean,
    opts: SubOpts,
  ): boolean;
  /** Sends PUBREL for an outgoing QoS 2 message the client acknowledged with PUBREC. */
  sendPubrel(packetId: number): void;
}

export interface SessionSettings {
  maxInflight: number;
  maxMqueueLen: number;
  mqueueStoreQos0: boolean;
  dropPolicy: DropPolicy;
  maxAwaitingRel: number;
  /** ms */
  awaitRelTimeout: number;
  /** ms between resends of unacknowledged messages; 0 = resend only on reconnect (MQTT 5). */
  retryInterval: number;
  upgradeQos: boolean;
  maxSubscriptions: number;
}

/** Receives the sessions whose durable state changed, so it reaches the store (see durability.ts). */
export interface SessionJournal {
  touch(session: Session): void;
  /** True while changes wait for their commit: frames that promise them must wait too. */
  readonly holding: boolean;
  /** Runs `send` once the pending changes are committed (at once when nothing is pending). */
  hold(send: () => void): void;
}

/** What a session needs from the broker around it. */
export interface SessionEnv {
  readonly hooks: Hooks;
  readonly metrics: Metrics;
  /** Set when durability is on; only persistent sessions report to it. */
  readonly journal?: SessionJournal | undefined;
}

export enum InflightPhase {
  /** PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2). */
  AwaitAck = 0,
  /** PUBREL sent, waiting for PUBCOMP. */
  AwaitComp = 1,
}

export interface InflightEntry {
  msg: Message;
  qos: 1 | 2;
  opts: SubOpts;
  retain: boolean;
  phase: InflightPhase;
  sentAt: number;
}

/** Result of registering an incoming QoS 2 PUBLISH. */
export type AwaitRelResult = 'new' | 'duplicate' | 'full';

/**
 * The empty map every session's subscription, inflight and awaiting-PUBREL maps start as. An empty Map costs
 * about 180 bytes of heap (the JSMap and its initial hash table): three per idle connection were 0.5 KB of
 * the 4.3 KB heap per idle connection measured with `node dist/bench/conn-memory.js` (2026-12-04).
 * Never added to: writers call ownMap first.
 */
// biome-ignore lint/suspicious/noExplicitAny: one empty map serves every key and value type
const EMPTY_MAP: Map<any, any> = new Map();

/** `m`, or a fresh map in place of the shared empty one. */
function ownMap<K, V>(m: Map<K, V>): Map<K, V> {
  return m === EMPTY_MAP ? new Map() : m;
}

/** What takeSharedDeliveries returns when there is nothing to hand on; never added to. */
const NO_DELIVERIES: QueuedDelivery[] = [];

/** The inflight window every session starts with, like EMPTY_MAP; never added to (ownInflight). */
const NO_INFLIGHT = new InflightWindow<InflightEntry>();

/** The subscriptions every session starts with, like EMPTY_MAP; never added to (setSubscription). */
const NO_SUBSCRIPTIONS = new SubscriptionTable();

export class Session {
  readonly createdAt = Date.now();
  /**
   * Made on first use (see `mqueue`): an idle connection's session never queues anything, and the queue was
   * 88 B of each (bench/conn-memory.ts, 2026-12-04).
   */
  private queue: MessageQueue | undefined;
  // The three maps below start as one shared empty map (or window) and get their own on their first entry
  // (see EMPTY_MAP): an idle connection's session never fills them. Deleting from or clearing the shared
  // empty one changes nothing, so only the writes that add go through ownMap / ownInflight.
  private subscriptionTable: SubscriptionTable = NO_SUBSCRIPTIONS;
  private inflightMap: InflightWindow<InflightEntry> = NO_INFLIGHT;
  private awaitingRelMap: Map<number, number> = EMPTY_MAP;
  /** Seconds the session outlives its connection; 0 = it ends with it; 0xFFFFFFFF = never expires. */
  expiryInterval = 0;
  /** The client's Receive Maximum (MQTT 5), bounding our inflight window. */
  receiveMaximum = 65535;
  /** The client as hooks see it; replaced by each new connection. */
  clientInfo: ClientInfo;
  /**
   * Called after the queue drained while it has room, so a paced producer (the retainer's large retained
   * sets) can offer its next batch instead of overflowing the queue.
   */
  refill: (() => void) | undefined;

  private outlet: SessionOutlet | undefined;
  private lastPacketId = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private relTimer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    readonly clientid: string,
    clientInfo: ClientInfo,
    public settings: SessionSettings,
    private readonly env: SessionEnv,
  ) {
    this.clientInfo = clientInfo;
  }

  /** The offline/overflow queue; created by the first access. */
  get mqueue(): MessageQueue {
    this.queue ??= new MessageQueue(this.settings.maxMqueueLen, this.settings.dropPolicy);
    return this.queue;
  }

  /** Messages waiting in the queue, without creating it. */
  private get queued(): number {
    return this.queue === undefined ? 0 : this.queue.length;
  }

  /** Subscriptions keyed by the topic as the client wrote it (with any $share/ prefix). */
  get subscriptions(): Subscriptions {
    return this.subscriptionTable;
  }

  /** The outgoing QoS 1/2 messages sent and not yet acknowledged, by packet id. */
  get inflight(): ReadonlyMap<number, InflightEntry> {
    return this.inflightMap;
  }

  /** Incoming QoS 2 packet ids awaiting PUBREL, with the time they arrived (insertion = time order). */
  get awaitingRel(): ReadonlyMap<number, number> {
    return this.awaitingRelMap;
  }

  /**
   * Adds or replaces a subscription; true when it is new. `isNew` true, when the caller knows the topic is
   * absent (the route table holds the same subscriptions), saves the lookup (SubscriptionTable.set).
   */
  setSubscription(topic: string, opts: SubOpts, isNew?: boolean): boolean {
    if (this.subscriptionTable === NO_SUBSCRIPTIONS) this.subscriptionTable = new SubscriptionTable();
    return this.subscriptionTable.set(topic, opts, isNew);
  }

  deleteSubscription(topic: string): boolean {
    return this.subscriptionTable.delete(topic);
  }

  clearSubscriptions(): void {
    this.subscriptionTable.clear();
  }

  /** Puts back an inflight message of a session restored from the store. */
  restoreInflight(packetId: number, e: InflightEntry): void {
    this.ownInflight().add(packetId, e);
  }

  /**
   * Forgets the inflight messages and incoming QoS 2 ids, which left with a copy of this session's state
   * (a takeover by another cluster node hands them over).
   */
  forgetDeliveryState(): void {
    this.inflightMap.clear();
    this.awaitingRelMap.clear();
  }

  /** Puts back an incoming QoS 2 packet id of a session restored from the store. */
  restoreAwaitingRel(packetId: number, at: number): void {
    this.awaitingRelMap = ownMap(this.awaitingRelMap);
    this.awaitingRelMap.set(packetId, at);
  }

  /** Applies the settings of a new connection (a resumed session may come back over another protocol level). */
  applySettings(settings: SessionSettings): void {
    this.settings = settings;
    if (this.queue !== undefined) {
      this.queue.maxLen = settings.maxMqueueLen;
      this.queue.dropPolicy = settings.dropPolicy;
    }
  }

  get connected(): boolean {
    return this.outlet !== undefined;
  }

  /** Size of the outgoing window: our max_inflight bounded by the client's Receive Maximum. */
  get window(): number {
    return Math.min(this.settings.maxInflight, this.receiveMaximum);
  }

  info(): SessionInfo {
    return {
      clientid: this.clientid,
      created_at: this.createdAt,
      is_persistent: this.expiryInterval > 0,
      subscriptions_cnt: this.subscriptionTable.size,
      inflight_cnt: this.inflightMap.size,
      mqueue_len: this.queued,
      expiry_interval: this.expiryInterval,
    };
  }

  /**
   * Hands the session to a channel: unacknowledged messages are sent again (PUBLISH with DUP, or PUBREL)
   * and then the queue drains.
   */
  attach(outlet: SessionOutlet): void {
    this.outlet = outlet;
    const now = Date.now();
    for (const [pid, e] of this.inflightMap) {
      e.sentAt = now;
      if (e.phase === InflightPhase.AwaitComp) outlet.sendPubrel(pid);
      else if (!outlet.sendPublish(e.msg, e.qos, pid, e.retain, true, e.opts)) {
        this.inflightMap.delete(pid);
        this.dropDelivery(e.msg, 'too_large');
      }
    }
    if (this.inflightMap.size > 0) this.armRetry();
    this.drain();
  }

  /** The channel is gone; deliveries queue until the next attach. */
  detach(): void {
    this.outlet = undefined;
    this.clearRetry();
  }

  /**
   * Offers a message matched by subscription `opts`. Sends it now when possible, else queues it.
   * `asRetained` marks a retained message sent because of a subscription (RETAIN flag set).
   * Returns false when the message was dropped.
   */
  deliver(msg: Message, opts: SubOpts, asRetained = false): boolean {
    if (opts.nl === 1 && msg.from === this.clientid) {
      this.dropDelivery(msg, 'no_local');
      return false;
    }
    if (msg.expiresAt !== 0 && msg.isExpired(Date.now())) {
      this.dropDelivery(msg, 'expired');
      return false;
    }
    const outlet = this.outlet;
    if (outlet === undefined) {
      if (!this.settings.mqueueStoreQos0 && this.effectiveQos(msg, opts) === 0) {
        this.dropDelivery(msg, 'qos0_msg');
        return false;
      }
      return this.enqueue(msg, opts, asRetained);
    }
    if (this.queued === 0 && outlet.writable) {
      const qos = this.effectiveQos(msg, opts);
      if (qos === 0) return this.send(outlet, msg, 0, opts, asRetained);
      if (this.inflightMap.size < this.window) return this.send(outlet, msg, qos, opts, asRetained);
    }
    return this.enqueue(msg, opts, asRetained);
  }

  /** PUBACK for an outgoing QoS 1 message. Returns false when the packet id was not in flight. */
  puback(packetId: number): boolean {
    const e = this.inflightMap.get(packetId);
    if (e === undefined || e.qos !== 1) return false;
    this.inflightMap.delete(packetId);
    this.touched();
    this.acked(e.msg);
    this.drain();
    return true;
  }

  /** PUBREC for an outgoing QoS 2 message: answer PUBREL. A failure reason code ends the exchange. */
  pubrec(packetId: number, failed: boolean): boolean {
    const e = this.inflightMap.get(packetId);
    if (e === undefined || e.qos !== 2) return false;
    if (failed) {
      this.inflightMap.delete(packetId);
      this.touched();
      this.drain();
      return true;
    }
    if (e.phase === InflightPhase.AwaitAck) {
      e.phase = InflightPhase.AwaitComp;
      e.sentAt = Date.now();
      this.touched();
    }
    const outlet = this.outlet;
    if (outlet === undefined) return true;
    // Once PUBREL leaves, the client may hand the message on: the AwaitComp phase must be stored first,
    // or a restart would send the PUBLISH again.
    const journal = this.env.journal;
    if (journal?.holding === true) journal.hold(() => outlet.sendPubrel(packetId));
    else outlet.sendPubrel(packetId);
    return true;
  }

  /** PUBCOMP for an outgoing QoS 2 message. */
  pubcomp(packetId: number): boolean {
    const e = this.inflightMap.get(packetId);
    if (e === undefined || e.phase !== InflightPhase.AwaitComp) return false;
    this.inflightMap.delete(packetId);
    this.touched();
    this.acked(e.msg);
    this.drain();
    return true;
  }

  /** Records an incoming QoS 2 PUBLISH; a duplicate must not be published again [MQTT-4.3.3-10]. */
  awaitRel(packetId: number): AwaitRelResult {
    if (this.awaitingRelMap.has(packetId)) return 'duplicate';
    this.expireAwaitingRel(Date.now());
    if (this.awaitingRelMap.size >= this.settings.maxAwaitingRel) return 'full';
    this.awaitingRelMap = ownMap(this.awaitingRelMap);
    this.awaitingRelMap.set(packetId, Date.now());
    this.touched();
    this.armRelTimer();
    return 'new';
  }

  /** PUBREL for an incoming QoS 2 message. Returns false when the packet id was unknown. */
  release(packetId: number): boolean {
    if (!this.awaitingRelMap.delete(packetId)) return false;
    this.touched();
    return true;
  }

  /** The transport can take more frames again. */
  drain(): void {
    const outlet = this.outlet;
    if (outlet === undefined || this.draining) return;
    this.draining = true;
    try {
      while (this.queued > 0 && outlet.writable && this.outlet === outlet) {
        const q = this.queue!;
        const msg = q.peekMessage()!;
        const opts = q.peekOpts()!;
        const qos = this.effectiveQos(msg, opts);
        if (qos > 0 && this.inflightMap.size >= this.window) break;
        const retained = q.peekRetained();
        q.dropHead();
        this.touched();
        if (msg.expiresAt !== 0 && msg.isExpired(Date.now())) {
          this.dropDelivery(msg, 'expired');
          continue;
        }
        this.send(outlet, msg, qos, opts, retained);
      }
    } finally {
      this.draining = false;
    }
    if (this.refill !== undefined && this.outlet === outlet && this.spareQueue() > 0) this.refill();
  }

  /** How many more deliveries the session takes before its queue's drop policy applies. */
  spareQueue(): number {
    // Without a queue only a free slot of the inflight window takes a QoS 1/2 delivery.
    const maxLen = this.settings.maxMqueueLen;
    if (maxLen <= 0) return this.outlet === undefined ? 0 : Math.max(0, this.window - this.inflightMap.size);
    return Math.max(0, maxLen - this.queued);
  }

  /**
   * Removes every unacknowledged or queued QoS 1/2 delivery that came through a shared subscription, so
   * the broker can hand it to another member of the group (the member is leaving).
   */
  takeSharedDeliveries(): QueuedDelivery[] {
    // Most sessions end with nothing in flight or queued: no arrays made at every close.
    if (this.inflightMap.size === 0 && this.queued === 0) return NO_DELIVERIES;
    const out: QueuedDelivery[] = [];
    for (const [pid, e] of this.inflightMap) {
      if (e.opts.share !== undefined && e.phase === InflightPhase.AwaitAck) {
        this.inflightMap.delete(pid);
        out.push({ msg: e.msg, opts: e.opts, retained: e.retain });
      }
    }
    const queued =
      this.queued === 0 ? [] : this.mqueue.extract((d) => d.opts.share !== undefined && d.msg.qos > 0);
    for (const d of queued) out.push(d);
    if (out.length > 0) this.touched();
    return out;
  }

  /** Stops timers and forgets pending state: the session is over. */
  terminate(): void {
    this.outlet = undefined;
    this.clearRetry();
    if (this.relTimer !== undefined) clearTimeout(this.relTimer);
    this.relTimer = undefined;
    this.refill = undefined;
    this.queue?.clear();
    this.inflightMap.clear();
    this.awaitingRelMap.clear();
  }

  private effectiveQos(msg: Message, opts: SubOpts): QoS {
    if (this.settings.upgradeQos) return msg.qos > opts.qos ? msg.qos : opts.qos;
    return msg.qos < opts.qos ? msg.qos : opts.qos;
  }

  private send(outlet: SessionOutlet, msg: Message, qos: QoS, opts: SubOpts, asRetained: boolean): boolean {
    const env = this.env;
    if (env.hooks.has('message.delivered')) {
      const r = env.hooks.runFold('message.delivered', [this.clientInfo], msg);
      // Deliveries are sent in order, so the fold must answer synchronously; an async answer keeps the original.
      if (!(r instanceof Promise)) msg = r;
    }
    const retain = asRetained || (opts.rap === 1 && msg.flags.retain);
    if (qos === 0) {
      if (!outlet.sendPublish(msg, 0, 0, retain, false, opts)) {
        this.dropDelivery(msg, 'too_large');
        return false;
      }
      env.metrics.c['messages.delivered']++;
      return true;
    }
    const pid = this.nextPacketId();
    if (!outlet.sendPublish(msg, qos, pid, retain, false, opts)) {
      this.dropDelivery(msg, 'too_large');
      return false;
    }
    env.metrics.c['messages.delivered']++;
    this.ownInflight().add(pid, {
      msg,
      qos,
      opts,
      retain,
      phase: InflightPhase.AwaitAck,
      sentAt: Date.now(),
    });
    this.touched();
    if (this.retryTimer === undefined) this.armRetry();
    return true;
  }

  private enqueue(msg: Message, opts: SubOpts, asRetained: boolean): boolean {
    const dropped = this.mqueue.push(msg, opts, asRetained);
    this.touched();
    if (dropped === undefined) return true;
    this.dropDelivery(dropped, 'queue_full');
    return dropped !== msg;
  }

  /** Reports a change of durable state; clean sessions (expiry 0) have none, so they cost one comparison. */
  touched(): void {
    if (this.expiryInterval > 0) this.env.journal?.touch(this);
  }

  private ownInflight(): InflightWindow<InflightEntry> {
    if (this.inflightMap === NO_INFLIGHT) this.inflightMap = new InflightWindow();
    return this.inflightMap;
  }

  private nextPacketId(): number {
    // The window is far below 65535, so a free id is always found within one lap.
    for (;;) {
      this.lastPacketId = this.lastPacketId >= 65535 ? 1 : this.lastPacketId + 1;
      if (!this.inflightMap.has(this.lastPacketId)) return this.lastPacketId;
    }
  }

  private acked(msg: Message): void {
    this.env.metrics.c['messages.acked']++;
    if (this.env.hooks.has('message.acked')) this.env.hooks.run('message.acked', this.clientInfo, msg);
  }

  private dropDelivery(
    msg: Message,
    reason: 'expired' | 'queue_full' | 'qos0_msg' | 'too_large' | 'no_local',
  ): void {
    const c = this.env.metrics.c;
    c['delivery.dropped']++;
    c[`delivery.dropped.${reason}`]++;
    if (this.env.hooks.has('delivery.dropped'))
      this.env.hooks.run('delivery.dropped', this.clientInfo, msg, reason);
  }

  private armRetry(): void {
    const interval = this.settings.retryInterval;
    if (interval <= 0 || this.outlet === undefined || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => this.retry(), interval);
    this.retryTimer.unref();
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Resends messages unacknowledged for retry_interval (MQTT 3.x only; see settings.retryInterval). */
  private retry(): void {
    this.retryTimer = undefined;
    const outlet = this.outlet;
    if (outlet === undefined) return;
    const now = Date.now();
    const due = now - this.settings.retryInterval;
    for (const [pid, e] of this.inflightMap) {
      if (e.sentAt > due) continue;
      e.sentAt = now;
      if (e.phase === InflightPhase.AwaitComp) outlet.sendPubrel(pid);
      else outlet.sendPublish(e.msg, e.qos, pid, e.retain, true, e.opts);
    }
    if (this.inflightMap.size > 0) this.armRetry();
  }

  private armRelTimer(): void {
    if (this.relTimer !== undefined || this.settings.awaitRelTimeout === Number.POSITIVE_INFINITY) return;
    this.relTimer = setTimeout(() => {
      this.relTimer = undefined;
      this.expireAwaitingRel(Date.now());
      if (this.awaitingRelMap.size > 0) this.armRelTimer();
    }, this.settings.awaitRelTimeout);
    this.relTimer.unref();
  }

  /** Forgets incoming QoS 2 ids whose PUBREL is overdue (counted as dropped). */
  private expireAwaitingRel(now: number): void {
    const limit = now - this.settings.awaitRelTimeout;
    for (const [pid, at] of this.awaitingRelMap) {
      if (at > limit) break;
      this.awaitingRelMap.delete(pid);
      this.touched();
      this.env.metrics.c['messages.dropped']++;
      this.env.metrics.c['messages.dropped.await_pubrel_timeout']++;
    }
  }
}
