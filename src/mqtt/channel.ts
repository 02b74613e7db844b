/**
 * The MQTT channel: one per connection. It owns the protocol state machine, turns parsed packets into
 * broker calls (through the handlers in ./handlers) and deliveries into frames (./outgoing.ts). It is the
 * only place that knows MQTT; the session, broker and access control below it are protocol-agnostic.
 */
import type { AuthzCache } from '../access/authz-cache.js';
import { newAuthzCache } from '../access/login.js';
import type { KickReason } from '../broker/client-registry.js';
import type { Watched } from '../broker/deadlines.js';
import type { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import type { AuthzAction, ClientInfo, ConnInfo, QoS, SubOpts } from '../broker/types.js';
import { logger } from '../log.js';
import type { CloseReason, Connection, ConnectionHandler } from '../transport/connection.js';
import type {
  ClientPacket,
  ConnectPacket,
  MqttPacket,
  MqttParseError,
  ProtocolVersion,
  Will,
} from './codec/packets.js';
import { MqttParser } from './codec/parser.js';
import { encodePubAck, serialize } from './codec/serializer.js';
import { dispatch } from './handlers/index.js';
import type { MqttHost, MqttListenerInfo } from './host.js';
import { OutgoingPublisher } from './outgoing.js';
import { RC, reasonName } from './reason-codes.js';
import {
  ChannelState,
  ClientCounts,
  type ConnackProps,
  type EnhancedAuthState,
  type HandlerResult,
  type MqttClient,
} from './state.js';
import { publishWill } from './will.js';

/**
 * PUBLISHes of one connection whose message.publish fold may run at the same time. With an ExHook server
 * the fold is one gRPC round trip; reading one PUBLISH per round trip held a publisher with 32 messages in
 * flight to 1 of them (bench/exhook.ts, 8 publishers: ~8 000 msgs/s at ~40 µs of broker CPU each, a socket
 * write per PUBACK; overlapped, with the ExHook changes of the same issue: ~20 000 msgs/s at ~14 µs, the
 * bench's ExHook server being the limit). Beyond this many the socket is paused, so a QoS 0 flood cannot
 * queue folds without limit.
 */
const FOLD_DEPTH = 64;

/** A publish waiting for its fold (or for the ones before it): `next` routes and acknowledges it. */
interface FoldStep {
  done: boolean;
  value: unknown;
  next: (value: unknown) => void;
}

/** MqttChannel.lastRecv while bytes arrived that no deadline sweep has seen yet. */
const HEARD = -1;

/** The empty fold queue every channel starts with; never pushed to (inPublishOrder makes its own). */
const NO_FOLDS: FoldStep[] = [];

/** Packets that may be handled while earlier PUBLISHes still fold: PUBLISH QoS 0 and 1. */
function foldsAlong(packet: ClientPacket): boolean {
  return packet.cmd === 'publish' && packet.qos < 2;
}

export class MqttChannel implements MqttClient, ConnectionHandler, Watched {
  readonly parser: MqttParser;
  state = ChannelState.Idle;
  version: ProtocolVersion = 4;
  clientInfo!: ClientInfo;
  connInfo!: ConnInfo;
  session: Session | undefined;
  will: Will | undefined;
  /** Session expiry the client asked for in CONNECT (MQTT 5 forbids raising it from 0 later). */
  connectExpiry = 0;
  keepaliveMs = 0;
  /**
   * When the client was last heard from (epoch ms) to the deadline sweep's precision, or HEARD: bytes came
   * since the last sweep, which then stores its own time (expired). Date.now() on every read was a V8
   * runtime call and a clock read, ~1 % of the broker's user time per lone QoS 1 message (perf,
   * 2026-12-05). Keepalive then fires at most one sweep period (1 s) later than with exact times, never
   * earlier; EMQX itself only compares byte counters once per keepalive interval.
   */
  lastRecv = Date.now();
  readonly openedAt = Date.now();
  /** The client's own limits (MQTT 5 CONNECT properties). */
  clientMaxPacketSize = 0;
  clientTopicAliasMax = 0;
  requestProblemInfo = true;
  /** Topic aliases the client set on its PUBLISHes. */
  inboundAliases: Map<number, string> | undefined;
  private outgoingPublisher: OutgoingPublisher | undefined;
  authzCache: AuthzCache | undefined;
  enhancedAuth: EnhancedAuthState | undefined;
  /** The authentication method of CONNECT; re-authentication must use the same [MQTT-4.12.1-1]. */
  authMethod: string | undefined;
  /** The CONNECT waiting for an enhanced-authentication exchange to finish. */
  pendingConnect: { packet: ConnectPacket; connack: ConnackProps } | undefined;
  /** Per-client counters for the clients API (EMQX recv_pkt, recv_msg.qosN, send_pkt, send_msg.qosN). */
  readonly counts = new ClientCounts();
  /**
   * PUBLISH frames (frame, packet id offset or -1, packet id) caused by the client's own QoS 1/2 publish,
   * held until its PUBACK/PUBREC is written: clients that wait for the ack read the next packet as it.
   */
  private heldPublishes: Array<[Buffer, number, number]> | undefined;
  private holdingPublishes = false;
  /**
   * Packets that arrived while an async step (authentication, authorization) was running, or that must
   * wait for the publishes still folding (anything but a QoS 0/1 PUBLISH).
   */
  private backlog: ClientPacket[] | undefined;
  /** An async handler step runs: the backlog waits for it. */
  private waiting = false;
  /**
   * Publishes in the order they were read, each waiting for its fold (inPublishOrder). NO_FOLDS until the
   * first fold that does not finish at once: most connections never have one (32 B each, conn-memory.ts).
   */
  private folds: FoldStep[] = NO_FOLDS;
  private paused = false;
  /**
   * When the login expires (JWT exp, expire_at: epoch seconds), or 0 for never; the deadline sweep checks it
   * (expired). Seconds, not ms: a whole number of seconds stays a small integer in the field, where epoch ms
   * would be a heap number per connection.
   */
  private authExpireAt = 0;
  private cleanedUp = false;
  /** Set when the registry took our session away (takeover / discard): do not close it ourselves. */
  private sessionHandedOver = false;

  constructor(
    readonly host: MqttHost,
    readonly conn: Connection,
    readonly listener: MqttListenerInfo,
  ) {
    this.parser = new MqttParser({ maxPacketSize: host.mqtt.max_packet_size, role: 'server' });
    // Also lists the channel in host.channels (the monitor's members).
    host.deadlines.add(this);
    conn.setHandler(this);
  }

  /**
   * Turns deliveries into frames; made on the first one, so an idle connection that never receives a
   * message does not carry it (40 B, bench/conn-memory.ts).
   */
  get outgoing(): OutgoingPublisher {
    if (this.outgoingPublisher === undefined) this.outgoingPublisher = new OutgoingPublisher(this);
    return this.outgoingPublisher;
  }

  /** A method, not a comparison inline, so TypeScript does not narrow `state` across calls that change it. */
  isClosed(): boolean {
    return this.state === ChannelState.Closed;
  }

  get namespace(): string {
    return 'mqtt';
  }

  get log() {
    return logger;
  }

  // ------------------------------------------------------------------ transport events

  onData(chunk: Buffer): void {
    this.receive(chunk, false);
  }

  /** The parser copies out what a packet keeps (PUBLISH payloads, cut packets), so reads can be lent to it. */
  onBorrowedData(chunk: Buffer): void {
    this.receive(chunk, true);
  }

  private receive(chunk: Buffer, borrowed: boolean): void {
    // A mark, not Date.now(): the deadline sweep turns it into a time (see lastRecv).
    this.lastRecv = HEARD;
    this.host.broker.metrics.c['bytes.received'] += chunk.length;
    if (this.state === ChannelState.Closed) return;
    const err = this.parser.push(chunk, this, borrowed);
    // The packets handled above may have closed the channel.
    if (err !== undefined && !this.isClosed()) this.onParseError(err);
  }

  onClose(reason: CloseReason, error?: Error): void {
    const why = reason === 'local' ? 'closed' : reason === 'timeout' ? 'send_timeout' : 'sock_closed';
    if (error !== undefined && reason === 'reset')
      logger.debug({ client: this.clientInfo?.clientid, err: error.message }, 'socket error');
    // The one line an operator gets for a slow consumer (the transport itself logs nothing).
    if (reason === 'timeout')
      logger.warn(
        { clientid: this.clientInfo?.clientid, peer: `${this.conn.peerhost}:${this.conn.peerport}` },
        'mqtt: slow consumer: writes blocked for send_timeout; connection dropped',
      );
    this.cleanup(why);
  }

  onDrain(): void {
    this.session?.drain();
  }

  /** Parser sink: one complete packet. */
  onPacket(packet: MqttPacket): void {
    if (this.state === ChannelState.Closed) return;
    this.host.broker.metrics.c['packets.received']++;
    this.counts.recvPkt++;
    if (this.backlog !== undefined) {
      this.backlog.push(packet as ClientPacket);
      return;
    }
    if (this.folds.length > 0 && !foldsAlong(packet as ClientPacket)) {
      // A SUBSCRIBE, DISCONNECT or QoS 2 PUBLISH is handled once the publishes read before it are done.
      this.backlog = [packet as ClientPacket];
      this.flow();
      return;
    }
    this.process(packet as ClientPacket);
  }

  private process(packet: ClientPacket): void {
    let r: HandlerResult;
    try {
      r = dispatch(this, packet);
    } catch (err) {
      this.internalError(err);
      return;
    }
    if (r instanceof Promise) this.waitFor(r);
  }

  private waitFor(p: Promise<void>): void {
    this.backlog ??= [];
    this.waiting = true;
    this.flow();
    p.then(
      () => this.resumeBacklog(),
      (err) => this.internalError(err),
    );
  }

  private resumeBacklog(): void {
    this.waiting = false;
    const backlog = this.backlog;
    if (backlog === undefined) return;
    while (backlog.length > 0 && this.state !== ChannelState.Closed) {
      // runFolds comes back here once the publishes before this packet are done.
      if (this.folds.length > 0 && !foldsAlong(backlog[0]!)) return;
      const packet = backlog.shift()!;
      let r: HandlerResult;
      try {
        r = dispatch(this, packet);
      } catch (err) {
        this.internalError(err);
        return;
      }
      if (r instanceof Promise) {
        this.waiting = true;
        r.then(
          () => this.resumeBacklog(),
          (err) => this.internalError(err),
        );
        return;
      }
    }
    this.backlog = undefined;
    this.flow();
  }

  /** Reads while nothing waits in the backlog and fewer than FOLD_DEPTH publishes fold. */
  private flow(): void {
    if (this.state === ChannelState.Closed) return;
    const stop = this.backlog !== undefined || this.folds.length >= FOLD_DEPTH;
    if (stop === this.paused) return;
    this.paused = stop;
    if (stop) this.conn.pause();
    else this.conn.resume();
  }

  /**
   * Runs `then(value)` once `value` is there and every publish read before this one has run its own step:
   * a publish's routing, its PUBACK and any refusal keep the order the PUBLISHes were read in, while their
   * message.publish folds (ExHook round trips) overlap. Without folds in flight a plain value runs at once.
   */
  inPublishOrder<T>(value: T | Promise<T>, then: (value: T) => void): void {
    const folds = this.folds;
    if (!(value instanceof Promise)) {
      if (folds.length === 0) then(value);
      else folds.push({ done: true, value, next: then as (value: unknown) => void });
      return;
    }
    const step: FoldStep = { done: false, value: undefined, next: then as (value: unknown) => void };
    if (folds === NO_FOLDS) this.folds = [step];
    else folds.push(step);
    if (this.folds.length >= FOLD_DEPTH) this.flow();
    value.then(
      (v) => {
        step.done = true;
        step.value = v;
        if (this.folds[0] === step) this.runFolds();
      },
      (err) => {
        this.folds.length = 0;
        this.internalError(err);
      },
    );
  }

  get publishesInOrder(): boolean {
    return this.folds.length === 0;
  }

  private runFolds(): void {
    const folds = this.folds;
    while (folds.length > 0 && folds[0]!.done) {
      const step = folds.shift()!;
      const wasOpen = this.state !== ChannelState.Closed;
      try {
        step.next(step.value);
      } catch (err) {
        this.internalError(err);
      }
      // A step that closed the channel (a refused publish, should_disconnect) drops the publishes read
      // after it, as if they had not been read. A channel closed by its socket still routes what it read.
      if (wasOpen && this.isClosed()) folds.length = 0;
    }
    if (folds.length === 0 && this.backlog !== undefined && !this.waiting) this.resumeBacklog();
    else this.flow();
  }

  // ------------------------------------------------------------------ sending

  /** Serializes and queues one packet. */
  send(packet: MqttPacket): void {
    if (this.conn.closed) return;
    const frame = serialize(packet, this.version);
    this.sendFrame(frame);
  }

  sendFrame(frame: Buffer): void {
    this.counts.sendPkt++;
    const c = this.host.broker.metrics.c;
    c['packets.sent']++;
    c['bytes.sent'] += frame.length;
    this.conn.send(frame);
  }

  /**
   * PUBACK/PUBREC/PUBREL/PUBCOMP. Success takes the 4-byte fast path; an MQTT 5 failure also carries a
   * reason string naming the problem.
   */
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number, rc: number): void {
    if (this.version === 5 && rc >= 0x80 && this.requestProblemInfo) {
      this.send({ cmd, packetId, reasonCode: rc, properties: { reasonString: reasonName(rc) } });
      return;
    }
    this.sendFrame(encodePubAck(cmd, packetId, this.version === 5 ? rc : 0, this.version));
  }

  /** A reason string, unless the client asked for no problem information [MQTT-3.1.2-29]. */
  reasonString(text: string): { reasonString: string } | undefined {
    return this.version === 5 && this.requestProblemInfo ? { reasonString: text } : undefined;
  }

  /** Writes one outgoing PUBLISH frame (patching its packet id when `offset` ≥ 0), or holds it. */
  writePublish(frame: Buffer, offset: number, packetId: number): void {
    if (this.holdingPublishes) (this.heldPublishes ??= []).push([frame, offset, packetId]);
    else if (offset < 0) this.conn.send(frame);
    else this.conn.sendPatched(frame, offset, packetId);
  }

  /**
   * From here until releaseOwnDeliveries, outgoing PUBLISH frames wait (see heldPublishes). A flag, not an
   * array: most QoS 1/2 publishes cause no delivery back to their sender, so nothing is allocated for them.
   */
  holdOwnDeliveries(): void {
    this.holdingPublishes = true;
  }

  /** Writes the held PUBLISH frames in order. */
  releaseOwnDeliveries(): void {
    this.holdingPublishes = false;
    const held = this.heldPublishes;
    if (held === undefined) return;
    this.heldPublishes = undefined;
    for (const [frame, offset, packetId] of held) this.writePublish(frame, offset, packetId);
  }

  // ------------------------------------------------------------------ SessionOutlet

  get writable(): boolean {
    return !this.conn.congested;
  }

  sendPublish(
    msg: Message,
    qos: QoS,
    packetId: number,
    retain: boolean,
    dup: boolean,
    opts: SubOpts,
  ): boolean {
    return this.outgoing.publish(msg, qos, packetId, retain, dup, opts);
  }

  sendPubrel(packetId: number): void {
    this.send({ cmd: 'pubrel', packetId, reasonCode: 0 });
    this.host.broker.metrics.c['packets.pubrel.sent']++;
  }

  // ------------------------------------------------------------------ access control

  /** Authorizes an action on an unmounted topic (superusers pass; cache per connection). */
  authorize(action: AuthzAction, topic: string): boolean | Promise<boolean> {
    const access = this.host.access;
    // The cache is made by the first check, not at CONNECT: most idle connections are never authorized
    // for anything (40 B each, bench/conn-memory.ts).
    this.authzCache ??= newAuthzCache(access.authzCache);
    return access.authorize(this.clientInfo, action, topic, this.authzCache);
  }

  /** The broker's deny_action: with 'disconnect' a denied client is disconnected with 0x87. */
  denied(): void {
    if (this.host.access.authz.denyAction === 'disconnect')
      this.disconnect(RC.NOT_AUTHORIZED, 'not_authorized');
  }

  /**
   * Disconnects the client when its authentication expires (JWT exp, expire_at). The once-a-second deadline
   * sweep does it (expired), not a timer per client: setTimeout cost 290–420 heap bytes and ~2.6 µs per JWT
   * CONNECT (auth-report-s29). The client is disconnected at most one sweep period (1 s) after exp, never
   * before; EMQX also disconnects after expire_at passes, with the same reason.
   */
  armAuthExpiry(expireAtSeconds: number | undefined): void {
    this.authExpireAt = 0;
    if (expireAtSeconds === undefined) return;
    if (expireAtSeconds * 1000 <= Date.now()) {
      this.authExpired();
      return;
    }
    this.authExpireAt = expireAtSeconds;
  }

  private authExpired(): void {
    // 0xA0 Maximum connect time: the closest MQTT 5 reason for credentials that ran out.
    this.disconnect(RC.MAXIMUM_CONNECT_TIME, 'expired');
  }

  // ------------------------------------------------------------------ closing

  /** Sends DISCONNECT with `rc` (MQTT 5, after CONNACK only) and closes. */
  disconnect(rc: number, reason: string, reasonText?: string): void {
    if (this.state === ChannelState.Closed) return;
    const m = this.host.broker.metrics.c;
    if (this.version === 5 && this.state === ChannelState.Connected) {
      this.send({
        cmd: 'disconnect',
        reasonCode: rc,
        properties: this.reasonString(reasonText ?? reasonName(rc)),
      });
      m['packets.disconnect.sent']++;
    }
    this.close(reason);
  }

  /** A protocol violation: DISCONNECT 0x82 (MQTT 5) or just close (3.x), one log line. */
  protocolError(detail: string, rc: number = RC.PROTOCOL_ERROR): void {
    logger.warn(
      {
        clientid: this.clientInfo?.clientid,
        peer: `${this.conn.peerhost}:${this.conn.peerport}`,
        rc: reasonName(rc),
      },
      `mqtt: ${detail}; closing connection`,
    );
    this.disconnect(rc, reasonName(rc), detail);
  }

  private onParseError(err: MqttParseError): void {
    const c = this.host.broker.metrics.c;
    if (err.reasonCode === RC.PACKET_TOO_LARGE) c['packets.too_large']++;
    else c['packets.malformed']++;
    if (this.state === ChannelState.Idle && err.reasonCode === RC.UNSUPPORTED_PROTOCOL_VERSION) {
      // Answer in the client's own dialect so it understands the refusal [MQTT-3.1.2-2].
      const v = (err as MqttParseError & { protocolVersion?: number }).protocolVersion;
      this.version = v === 5 ? 5 : 4;
      this.send({
        cmd: 'connack',
        sessionPresent: false,
        reasonCode: v === 5 ? RC.UNSUPPORTED_PROTOCOL_VERSION : 1,
      });
      c['packets.connack.sent']++;
      c['packets.connack.error']++;
      logger.warn(
        { peer: `${this.conn.peerhost}:${this.conn.peerport}`, version: v },
        'mqtt: unsupported protocol version',
      );
      this.close('unsupported_protocol_version');
      return;
    }
    this.protocolError(err.message, err.reasonCode);
  }

  private internalError(err: unknown): void {
    logger.error(
      { err, clientid: this.clientInfo?.clientid },
      'mqtt: internal error while handling a packet',
    );
    this.disconnect(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal_error');
  }

  /** Closes the connection (flushing queued frames) and cleans up once; `peerDone`: see Connection.close. */
  close(reason: string, peerDone = false): void {
    this.cleanup(reason);
    this.conn.close(peerDone);
  }

  /** LiveChannel: the broker closes us (takeover, discard, administrative kick, shutdown). */
  kick(reason: KickReason): void {
    if (this.state === ChannelState.Closed) return;
    const rc =
      reason === 'takenover' || reason === 'discarded'
        ? RC.SESSION_TAKEN_OVER
        : reason === 'shutdown'
          ? RC.SERVER_SHUTTING_DOWN
          : RC.ADMINISTRATIVE_ACTION;
    if (reason === 'takenover' || reason === 'discarded') this.sessionHandedOver = true;
    this.disconnect(rc, reason);
  }

  /** Graceful node stop: DISCONNECT 0x8B and close. */
  shutdown(): void {
    this.kick('shutdown');
  }

  /**
   * Watched: past the keepalive, login or authentication-expiry deadline at `now`. A comparison rather than
   * the deadline itself: returning the double boxed a 16 B heap number per connection per sweep, 160 KB a
   * second of garbage on an idle broker with 10 000 clients (bench/conn-memory.ts), which also kept V8 from
   * ever seeing it quiet.
   */
  expired(now: number): boolean {
    if (this.authExpireAt !== 0 && now >= this.authExpireAt * 1000) return true;
    if (this.lastRecv === HEARD) {
      this.lastRecv = now;
      return false;
    }
    if (this.state === ChannelState.Connected) {
      return (
        this.keepaliveMs > 0 && now > this.lastRecv + this.keepaliveMs * this.host.mqtt.keepalive_multiplier
      );
    }
    if (this.state === ChannelState.Connecting) {
      // CONNECT arrived: idle_timeout no longer applies while the broker checks the login (a bcrypt storm
      // queues checks for longer than 15 s), only while an enhanced-auth exchange waits for the client's AUTH.
      return this.pendingConnect !== undefined && now > this.lastRecv + this.host.mqtt.idle_timeout;
    }
    return now > this.openedAt + this.host.mqtt.idle_timeout;
  }

  onDeadline(): void {
    // Checked again here rather than flagged by expired: the sweep only calls this once, when closing.
    if (this.authExpireAt !== 0 && Date.now() >= this.authExpireAt * 1000) {
      this.authExpired();
    } else if (this.state === ChannelState.Connected) {
      this.host.broker.metrics.c['client.keepalive_timeout']++;
      logger.info(
        { clientid: this.clientInfo.clientid, keepalive: this.keepaliveMs / 1000 },
        'mqtt: keepalive timeout',
      );
      this.disconnect(RC.KEEP_ALIVE_TIMEOUT, 'keepalive_timeout');
    } else if (this.state !== ChannelState.Closed) {
      logger.info(
        { peer: `${this.conn.peerhost}:${this.conn.peerport}` },
        this.state === ChannelState.Connecting
          ? 'mqtt: no AUTH within idle_timeout'
          : 'mqtt: no CONNECT within idle_timeout',
      );
      this.close('idle_timeout');
    }
  }

  private cleanup(reason: string): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    const wasConnected = this.state === ChannelState.Connected;
    this.state = ChannelState.Closed;
    this.backlog = undefined;
    this.host.deadlines.remove(this);
    if (!wasConnected) return;
    const broker = this.host.broker;
    const session = this.session;
    this.connInfo.disconnected_at = Date.now();
    if (session !== undefined && !this.sessionHandedOver) broker.closeSession(this.namespace, this, session);
    else session?.detach();
    if (this.will !== undefined) this.handleWillOnClose(reason, session);
    broker.metrics.c['client.disconnected']++;
    broker.metrics.addStat('connections', -1);
    broker.metrics.addStat('live_connections', -1);
    broker.metrics.addStat('channels', -1);
    if (broker.hooks.has('client.disconnected')) {
      broker.hooks.run('client.disconnected', this.clientInfo, reason, this.connInfo);
    }
  }

  /**
   * The connection ended without a normal DISCONNECT: publish the will now, or after its Will Delay
   * Interval when the session outlives the connection [MQTT-3.1.3-9].
   */
  private handleWillOnClose(reason: string, session: Session | undefined): void {
    const will = this.will!;
    this.will = undefined;
    const delay = will.properties?.willDelayInterval ?? 0;
    if (reason === 'takenover' && delay > 0) return; // the client is back within the delay
    const expiry = session?.expiryInterval ?? 0;
    if (delay > 0 && expiry > 0 && reason !== 'discarded' && reason !== 'shutdown') {
      const clientInfo = this.clientInfo;
      const host = this.host;
      host.broker.scheduleWill(this.namespace, clientInfo.clientid, Math.min(delay, expiry) * 1000, () =>
        publishWill(host, clientInfo, will),
      );
      return;
    }
    publishWill(this.host, this.clientInfo, will);
  }
}
