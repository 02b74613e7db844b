/**
 * The MQTT-SN channel (EMQX `emqx_mqttsn_channel`): CONNECT with the will dialogue, keepalive, sleeping
 * clients (asleep / awake), SEARCHGW, and dispatch of REGISTER/PUBLISH/SUBSCRIBE to pubsub.ts and of
 * deliveries to the outbox. Pure: every handler returns replies for the driver.
 */
import type { KickReason } from '../../broker/client-registry.js';
import { isWildcard } from '../../broker/topic.js';
import type { QoS } from '../../broker/types.js';
import type { Logger } from '../../log.js';
import { andThen } from '../maybe-async.js';
import type {
  ChannelContext,
  Delivery,
  FrameError,
  GatewayChannel,
  LoginResult,
  Replies,
  Reply,
} from '../types.js';
import { RC, type SnFrame } from './frame.js';
import { Outbox, REGISTER_TIMER } from './outbox.js';
import * as pubsub from './pubsub.js';
import type { MqttSnConfig } from './schema.js';
import { acquireSourceSlot, releaseSourceSlot } from './source-limit.js';
import { PredefinedTopics, TopicIdTable } from './topic-ids.js';

type R = Reply<SnFrame>;
type Of<T extends SnFrame['type']> = Extract<SnFrame, { type: T }>;
type State = 'idle' | 'will_topic' | 'will_msg' | 'connecting' | 'connected' | 'asleep' | 'awake' | 'closed';

interface Will {
  topic: string;
  qos: QoS;
  retain: boolean;
  payload: Buffer;
}

/**
 * The CONNACK code of a refused login. MQTT-SN 1.2 has only 0x00-0x03 (EMQX sends 0x80, outside the table):
 * 0x03 "rejected: not supported" tells the client that retrying the same CONNECT will not help, where
 * 0x01 "congestion" would invite it to retry. Congestion is kept for a full gateway (per-source limit).
 */
const LOGIN_REFUSED = RC.NOT_SUPPORTED;
/** The only MQTT-SN protocol id (§5.3.8). */
const PROTOCOL_ID = 0x01;

/** Seconds a clean_session=false session outlives its connection (EMQX: 2 h). */
export const PERSISTENT_SESSION_EXPIRY = 7200;
/** The keepalive timer fires after this many keepalive periods without a message from the client. */
const KEEPALIVE_FACTOR = 1.5;
const KEEPALIVE_TIMER = 'keepalive';
const ASLEEP_TIMER = 'asleep';
const DISCONNECT: R = { type: 'send', frame: { type: 'DISCONNECT', duration: undefined } };

// One line per kind of bad input per minute for the whole node: a flood must not flood the log.
const LOG_EVERY_MS = 60_000;
const lastLogged = new Map<string, number>();

function logOnce(log: Logger, key: string, detail: Record<string, unknown>, msg: string): void {
  const now = Date.now();
  const last = lastLogged.get(key);
  if (last !== undefined && now - last < LOG_EVERY_MS) return;
  lastLogged.set(key, now);
  log.info(detail, `${msg} (logged once a minute)`);
}

const predefinedCache = new WeakMap<object, PredefinedTopics>();

/** The predefined topic table of a config object (shared by its clients; rebuilt when the config changes). */
function predefinedOf(config: MqttSnConfig): PredefinedTopics {
  let p = predefinedCache.get(config.predefined);
  if (p === undefined) predefinedCache.set(config.predefined, (p = new PredefinedTopics(config.predefined)));
  return p;
}

export class MqttSnChannel implements GatewayChannel<SnFrame>, pubsub.PubSubHost {
  readonly topicIds: TopicIdTable;
  private readonly outbox: Outbox;
  private state: State = 'idle';
  private pending: { clientId: string; duration: number; clean: boolean } | undefined;
  private will: Will | undefined;
  private keepaliveMs = 0;
  private sleepMs = 0;
  private lastIn = Date.now();
  private readonly holds = new Set<string>();
  /** Whether this client holds one of its source address's slots (see source-limit.ts). */
  private slot: boolean;

  constructor(readonly ctx: ChannelContext<MqttSnConfig>) {
    this.topicIds = new TopicIdTable(predefinedOf(ctx.config));
    this.outbox = new Outbox(ctx, this.topicIds);
    this.slot = acquireSourceSlot(ctx.gateway, ctx.conn.peerhost, ctx.config.max_clients_per_source);
  }

  private get online(): boolean {
    return this.state === 'connected' || this.state === 'asleep' || this.state === 'awake';
  }

  // ---------------------------------------------------------------- input

  handleIn(f: SnFrame): Replies<SnFrame> {
    if (this.state === 'closed') return [];
    if (!this.slot) return this.sourceFull(f);
    this.lastIn = Date.now();
    switch (f.type) {
      case 'SEARCHGW':
        return [
          {
            type: 'send',
            frame: { type: 'GWINFO', gwId: this.ctx.config.gateway_id, gwAdd: Buffer.alloc(0) },
          },
        ];
      case 'ADVERTISE':
      case 'GWINFO':
        // Another gateway's announcement: nothing for us, and no reason to keep a connection for it.
        return this.online ? [] : [{ type: 'close', reason: 'unexpected_advertise' }];
      case 'CONNECT':
        return this.connect(f);
      case 'WILLTOPIC':
        return this.state === 'will_topic' ? this.willTopic(f) : this.unexpected(f);
      case 'WILLMSG':
        return this.state === 'will_msg' ? this.willMsg(f) : this.unexpected(f);
      case 'DISCONNECT':
        return this.disconnect(f);
      case 'PINGREQ':
        return this.ping(f);
      case 'PUBLISH':
        return this.online ? pubsub.publish(this, f) : pubsub.publishUnconnected(this, f);
    }
    if (!this.online) return this.unexpected(f);
    switch (f.type) {
      case 'REGISTER':
        return pubsub.register(this, f);
      case 'REGACK':
        return this.regack(f);
      case 'PUBACK':
        return this.puback(f);
      case 'PUBREC':
        this.ctx.received(f.msgId);
        return [];
      case 'PUBCOMP':
        this.ctx.completed(f.msgId);
        return this.sleepIfDone();
      case 'PUBREL':
        this.ctx.released(f.msgId);
        return [{ type: 'send', frame: { type: 'PUBCOMP', msgId: f.msgId } }];
      case 'SUBSCRIBE':
        return pubsub.subscribe(this, f);
      case 'UNSUBSCRIBE':
        return pubsub.unsubscribe(this, f);
      case 'WILLTOPICUPD':
        return this.willTopicUpdate(f);
      case 'WILLMSGUPD':
        if (this.will !== undefined) this.will.payload = f.payload;
        return [{ type: 'send', frame: { type: 'WILLMSGRESP', rc: RC.ACCEPTED } }];
      default:
        return this.unexpected(f);
    }
  }

  /** A bad datagram is dropped without an answer (it was counted by the driver). */
  handleFrameError(err: FrameError): Replies<SnFrame> {
    logOnce(
      this.ctx.log,
      `frame:${err.reason}`,
      { reason: err.reason, err: err.message },
      'mqttsn: datagram dropped',
    );
    return [];
  }

  /** Packets that have no meaning in the current state are dropped silently, counted and logged. */
  private unexpected(f: SnFrame): R[] {
    this.ctx.metrics.inc('packets.dropped');
    logOnce(
      this.ctx.log,
      `unexpected:${this.state}:${f.type}`,
      { type: f.type, state: this.state },
      'mqttsn: packet dropped',
    );
    return [];
  }

  /** The source address already holds max_clients_per_source clients: CONNACK congestion and close. */
  private sourceFull(f: SnFrame): R[] {
    this.state = 'closed';
    this.ctx.metrics.inc('packets.dropped');
    this.ctx.log.warn(
      { peerhost: this.ctx.conn.peerhost, limit: this.ctx.config.max_clients_per_source },
      'mqttsn: too many clients from one source address; refused',
    );
    const out: R[] = [];
    if (f.type === 'CONNECT') out.push({ type: 'send', frame: { type: 'CONNACK', rc: RC.CONGESTION } });
    out.push({ type: 'close', reason: 'source_limit' });
    return out;
  }

  // ---------------------------------------------------------------- connect and will

  private connect(f: Of<'CONNECT'>): Replies<SnFrame> {
    if ((this.state === 'asleep' || this.state === 'awake') && f.clientId === this.ctx.clientInfo?.clientid) {
      // §6.14: a sleeping client returns to active with CONNECT.
      this.state = 'connected';
      this.holdFor('asleep', false);
      return [
        { type: 'cancel_timer', name: ASLEEP_TIMER },
        { type: 'send', frame: { type: 'CONNACK', rc: RC.ACCEPTED } },
        ...this.keepaliveTimer(),
      ];
    }
    if (this.state !== 'idle') return this.unexpected(f);
    if (f.protocolId !== PROTOCOL_ID) {
      this.state = 'closed';
      this.ctx.log.info({ protocolId: f.protocolId }, 'mqttsn: CONNECT with an unknown protocol id; refused');
      return [
        { type: 'send', frame: { type: 'CONNACK', rc: RC.NOT_SUPPORTED } },
        { type: 'close', reason: 'unsupported_protocol' },
      ];
    }
    // A duration of hours would let an idle client hold its slot for a day: held to max_keepalive.
    const duration = Math.min(f.duration, Math.floor(this.ctx.config.max_keepalive / 1000));
    this.pending = { clientId: f.clientId, duration, clean: f.flags.clean };
    if (!f.flags.will) return this.login();
    this.state = 'will_topic';
    return [{ type: 'send', frame: { type: 'WILLTOPICREQ' } }];
  }

  private willTopic(f: Of<'WILLTOPIC'>): Replies<SnFrame> {
    // An empty WILLTOPIC means "no will after all".
    if (f.flags === undefined || f.topic === '') return this.login();
    const qos = (f.flags.qos === 3 ? 0 : f.flags.qos) as QoS;
    this.will = { topic: f.topic, qos, retain: f.flags.retain, payload: Buffer.alloc(0) };
    this.state = 'will_msg';
    return [{ type: 'send', frame: { type: 'WILLMSGREQ' } }];
  }

  private willMsg(f: Of<'WILLMSG'>): Replies<SnFrame> {
    if (this.will !== undefined) this.will.payload = f.payload;
    return this.login();
  }

  private willTopicUpdate(f: Of<'WILLTOPICUPD'>): R[] {
    if (f.flags === undefined || f.topic === '') this.will = undefined;
    else {
      const qos = (f.flags.qos === 3 ? 0 : f.flags.qos) as QoS;
      this.will = {
        topic: f.topic,
        qos,
        retain: f.flags.retain,
        payload: this.will?.payload ?? Buffer.alloc(0),
      };
    }
    return [{ type: 'send', frame: { type: 'WILLTOPICRESP', rc: RC.ACCEPTED } }];
  }

  private login(): Replies<SnFrame> {
    const c = this.pending!;
    this.state = 'connecting';
    const result = this.ctx.login({
      clientid: c.clientId,
      packet: { clientid: c.clientId, duration: c.duration, clean_session: c.clean },
      proto_name: 'MQTT-SN',
      proto_ver: '1.2',
      keepalive: c.duration,
      clean_start: c.clean,
      expiry_interval: c.clean ? 0 : PERSISTENT_SESSION_EXPIRY,
      // One QoS 1/2 message in flight at a time (MQTT-SN has no window).
      session: { maxInflight: 1 },
    });
    return andThen(result, (r) => this.loggedIn(r, c.duration));
  }

  private loggedIn(r: LoginResult, duration: number): R[] {
    if (!r.ok) {
      this.state = 'closed';
      return [
        { type: 'send', frame: { type: 'CONNACK', rc: LOGIN_REFUSED } },
        { type: 'close', reason: r.reason },
      ];
    }
    this.state = 'connected';
    this.keepaliveMs = duration * 1000;
    const out: R[] = [{ type: 'send', frame: { type: 'CONNACK', rc: RC.ACCEPTED } }];
    if (r.present && this.ctx.config.subs_resume) {
      // The client lost its topic ids with its connection: give it one for every plain subscribed name
      // before the session replays anything.
      const topics = r.subscriptions.map((t) => this.ctx.unmount(t)).filter((t) => !isWildcard(t));
      out.push(...this.outbox.registerFirst(topics));
      this.syncRegisterHold();
    }
    out.push({ type: 'connected' }, ...this.keepaliveTimer());
    return out;
  }

  private keepaliveTimer(): R[] {
    if (this.keepaliveMs <= 0) return [];
    return [{ type: 'timer', name: KEEPALIVE_TIMER, ms: this.keepaliveMs * KEEPALIVE_FACTOR }];
  }

  // ---------------------------------------------------------------- ping, sleep, disconnect

  private ping(f: Of<'PINGREQ'>): Replies<SnFrame> {
    if (!this.online) return this.unexpected(f);
    const pong: R = { type: 'send', frame: { type: 'PINGRESP' } };
    if (f.clientId === '') return [pong];
    if (f.clientId !== this.ctx.clientInfo?.clientid) return this.unexpected(f);
    if (this.state === 'connected') return [pong];
    return this.awake();
  }

  /** PINGREQ(clientId) from a sleeping client: send what waited, then PINGRESP, then back to sleep. */
  private awake(): R[] {
    this.state = 'awake';
    const out: R[] = [{ type: 'cancel_timer', name: ASLEEP_TIMER }];
    // A QoS 1/2 message sent before the client fell asleep is sent again first (EMQX's session replay).
    for (const d of this.ctx.unacked()) out.push(...this.outbox.deliver(d));
    this.syncRegisterHold();
    this.holdFor('asleep', false);
    // Flush now (not on the driver's next tick) so the PINGRESP below follows every message it can send.
    this.ctx.flush();
    out.push(...this.sleepIfDone());
    return out;
  }

  /** While awake: once nothing is left to send or acknowledge, PINGRESP and back to sleep. */
  private sleepIfDone(pendingQos0 = false): R[] {
    if (this.state !== 'awake') return [];
    if (!this.outbox.empty || pendingQos0) return [];
    if (this.ctx.pendingCount() > 0) return [];
    this.state = 'asleep';
    this.holdFor('asleep', true);
    return [
      { type: 'send', frame: { type: 'PINGRESP' } },
      { type: 'timer', name: ASLEEP_TIMER, ms: this.sleepMs },
    ];
  }

  private disconnect(f: Of<'DISCONNECT'>): R[] {
    if (!this.online) return [DISCONNECT, { type: 'close', reason: 'normal' }];
    if (f.duration === undefined || f.duration === 0) {
      this.will = undefined;
      return [DISCONNECT, { type: 'close', reason: 'normal' }];
    }
    // §6.14: DISCONNECT with a duration puts the client to sleep; messages wait for it.
    this.state = 'asleep';
    this.sleepMs = f.duration * 1000;
    this.holdFor('asleep', true);
    return [
      DISCONNECT,
      { type: 'cancel_timer', name: KEEPALIVE_TIMER },
      { type: 'timer', name: ASLEEP_TIMER, ms: this.sleepMs },
    ];
  }

  // ---------------------------------------------------------------- acks for deliveries

  private puback(f: Of<'PUBACK'>): R[] {
    if (f.rc === RC.INVALID_TOPIC_ID) {
      const out = this.outbox.reregister(f.msgId);
      this.syncRegisterHold();
      return out;
    }
    // Congestion: keep the message; the session's retry (or the next wake-up) sends it again.
    if (f.rc === RC.CONGESTION) return [];
    if (f.rc !== RC.ACCEPTED)
      this.ctx.log.info({ msgId: f.msgId, rc: f.rc }, 'mqttsn: delivery refused by the client');
    this.ctx.acked(f.msgId);
    return this.sleepIfDone();
  }

  private regack(f: Of<'REGACK'>): R[] {
    const out = this.outbox.regack(f.topicId, f.msgId, f.rc);
    this.syncRegisterHold();
    out.push(...this.sleepIfDone());
    return out;
  }

  // ---------------------------------------------------------------- deliveries

  handleDeliver(d: Delivery): Reply<SnFrame>[] | undefined {
    if (this.state === 'closed') return undefined;
    // A resend (retry_interval) to a sleeping client waits for its wake-up, when inflight is replayed.
    if (this.state === 'asleep') return [];
    const out = this.outbox.deliver(d);
    this.syncRegisterHold();
    // A QoS 0 message needs no ack: if it was the last thing to send, the wake-up cycle ends here.
    if (this.state === 'awake' && d.qos === 0) out.push(...this.sleepIfDone());
    return out;
  }

  handlePubrel(packetId: number): Reply<SnFrame>[] {
    return [{ type: 'send', frame: { type: 'PUBREL', msgId: packetId } }];
  }

  /** Holds or releases deliveries for one reason; they flow while no reason holds them. */
  holdFor(reason: string, on: boolean): void {
    const before = this.holds.size > 0;
    if (on) this.holds.add(reason);
    else this.holds.delete(reason);
    const after = this.holds.size > 0;
    if (before !== after) this.ctx.holdDeliveries(after);
  }

  private syncRegisterHold(): void {
    this.holdFor('register', this.outbox.registering);
  }

  // ---------------------------------------------------------------- timers, kick, close

  handleTimeout(name: string, _data?: unknown): Replies<SnFrame> {
    if (name === KEEPALIVE_TIMER && this.state === 'connected') {
      const limit = this.keepaliveMs * KEEPALIVE_FACTOR;
      const quiet = Date.now() - this.lastIn;
      if (quiet < limit) return [{ type: 'timer', name: KEEPALIVE_TIMER, ms: limit - quiet }];
      this.ctx.metrics.inc('client.keepalive_timeout');
      this.ctx.log.info({ keepalive: this.keepaliveMs / 1000 }, 'mqttsn: keepalive timeout');
      return this.lost('keepalive_timeout');
    }
    if (name === ASLEEP_TIMER && (this.state === 'asleep' || this.state === 'awake')) {
      // §6.14: a client that does not come back within its sleep duration is lost, like a keepalive timeout.
      this.ctx.log.info({ duration: this.sleepMs / 1000 }, 'mqttsn: asleep timeout');
      return this.lost('asleep_timeout');
    }
    if (name === REGISTER_TIMER && this.online) {
      const resend = this.outbox.retry();
      if (resend !== undefined) return resend;
      this.ctx.log.info('mqttsn: REGISTER unanswered after retries; disconnecting');
      this.state = 'closed';
      this.outbox.clear();
      return [DISCONNECT, { type: 'close', reason: 'reached_max_retry' }];
    }
    return [];
  }

  /** The client is gone without DISCONNECT: publish its will, tell it (in case it hears), close. */
  private lost(reason: string): Replies<SnFrame> {
    this.state = 'closed';
    this.outbox.clear();
    const end: R[] = [DISCONNECT, { type: 'close', reason }];
    const will = this.will;
    this.will = undefined;
    if (will === undefined) return end;
    const req = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain };
    return andThen(this.ctx.publish(req), (r): R[] => {
      if (r.result !== 'ok')
        this.ctx.log.info({ topic: will.topic, result: r.result }, 'mqttsn: will not published');
      return end;
    });
  }

  handleKick(reason: KickReason): Reply<SnFrame>[] {
    this.state = 'closed';
    this.outbox.clear();
    return [DISCONNECT, { type: 'close', reason }];
  }

  handleClosed(_reason: string): void {
    this.state = 'closed';
    this.outbox.clear();
    if (this.slot) releaseSourceSlot(this.ctx.gateway, this.ctx.conn.peerhost);
    this.slot = false;
  }
}
