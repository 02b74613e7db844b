/**
 * The MQTT channel: one per connection. It owns the protocol state machine, turns parsed packets into
 * broker calls (through the handlers in ./handlers) and deliveries into frames (./outgoing.ts). It is the
 * only place that knows MQTT; the session, broker and access control below it are protocol-agnostic.
 */
import type { AuthzCache } from '../access/authz-cache.js';
import type { Watched } from '../broker/deadlines.js';
import type { Message } from '../broker/message.js';
import type { KickReason, LiveChannel } from '../broker/registry.js';
import type { Session, SessionOutlet } from '../broker/session.js';
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
import type { MqttContext, MqttListenerInfo } from './context.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './handlers/acks.js';
import { handleAuth } from './handlers/auth.js';
import { type ConnackProps, handleConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { OutgoingPublisher } from './outgoing.js';
import { RC, reasonName } from './reason-codes.js';
import { publishWill } from './will.js';

export enum ChannelState {
  /** Waiting for CONNECT. */
  Idle = 0,
  /** CONNECT received; authentication (possibly enhanced, over AUTH) in progress. */
  Connecting = 1,
  Connected = 2,
  Closed = 3,
}

/** Packet handlers may finish later (an async hook); the channel then holds further packets in order. */
export type HandlerResult = void | Promise<void>;

/** Enhanced authentication in progress (MQTT 5 AUTH exchange). */
export interface EnhancedAuthState {
  method: string;
  state: unknown;
  /** True for re-authentication of a connected client. */
  reauth: boolean;
}

export class MqttChannel implements ConnectionHandler, SessionOutlet, LiveChannel, Watched {
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
  lastRecv = Date.now();
  readonly openedAt = Date.now();
  /** The client's own limits (MQTT 5 CONNECT properties). */
  clientMaxPacketSize = 0;
  clientTopicAliasMax = 0;
  requestProblemInfo = true;
  /** Topic aliases the client set on its PUBLISHes. */
  inboundAliases: Map<number, string> | undefined;
  readonly outgoing: OutgoingPublisher;
  authzCache: AuthzCache | undefined;
  enhancedAuth: EnhancedAuthState | undefined;
  /** The authentication method of CONNECT; re-authentication must use the same [MQTT-4.12.1-1]. */
  authMethod: string | undefined;
  /** The CONNECT waiting for an enhanced-authentication exchange to finish. */
  pendingConnect: { packet: ConnectPacket; connack: ConnackProps } | undefined;
  /** Per-client counters for the clients API (EMQX recv_pkt, recv_msg.qosN, send_pkt, send_msg.qosN). */
  readonly counts = { recvPkt: 0, sendPkt: 0, recvMsg: [0, 0, 0], sendMsg: [0, 0, 0] };
  /**
   * PUBLISH frames (frame, packet id offset or -1, packet id) caused by the client's own QoS 1/2 publish,
   * held until its PUBACK/PUBREC is written: clients that wait for the ack read the next packet as it.
   */
  private heldPublishes: Array<[Buffer, number, number]> | undefined;
  /** Packets that arrived while an async step (hook, authentication) was running. */
  private backlog: ClientPacket[] | undefined;
  private authExpiryTimer: NodeJS.Timeout | undefined;
  private cleanedUp = false;
  /** Set when the registry took our session away (takeover / discard): do not close it ourselves. */
  private sessionHandedOver = false;

  constructor(
    readonly ctx: MqttContext,
    readonly conn: Connection,
    readonly listener: MqttListenerInfo,
  ) {
    this.parser = new MqttParser({ maxPacketSize: ctx.mqtt.max_packet_size, role: 'server' });
    this.outgoing = new OutgoingPublisher(this);
    ctx.channels.add(this);
    ctx.deadlines.add(this);
    conn.setHandler(this);
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
    this.lastRecv = Date.now();
    this.ctx.broker.metrics.c['bytes.received'] += chunk.length;
    if (this.state === ChannelState.Closed) return;
    const err = this.parser.push(chunk, this);
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
    this.ctx.broker.metrics.c['packets.received']++;
    this.counts.recvPkt++;
    if (this.backlog !== undefined) {
      this.backlog.push(packet as ClientPacket);
      return;
    }
    this.process(packet as ClientPacket);
  }

  private process(packet: ClientPacket): void {
    let r: HandlerResult;
    try {
      r = this.handle(packet);
    } catch (err) {
      this.internalError(err);
      return;
    }
    if (r instanceof Promise) this.waitFor(r);
  }

  private waitFor(p: Promise<void>): void {
    this.backlog ??= [];
    this.conn.pause();
    p.then(
      () => this.resumeBacklog(),
      (err) => this.internalError(err),
    );
  }

  private resumeBacklog(): void {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    while (backlog.length > 0 && this.state !== ChannelState.Closed) {
      const packet = backlog.shift()!;
      let r: HandlerResult;
      try {
        r = this.handle(packet);
      } catch (err) {
        this.internalError(err);
        return;
      }
      if (r instanceof Promise) {
        r.then(
          () => this.resumeBacklog(),
          (err) => this.internalError(err),
        );
        return;
      }
    }
    this.backlog = undefined;
    if (this.state !== ChannelState.Closed) this.conn.resume();
  }

  private handle(p: ClientPacket): HandlerResult {
    const m = this.ctx.broker.metrics.c;
    switch (this.state) {
      case ChannelState.Idle:
        if (p.cmd === 'connect') return handleConnect(this, p);
        return this.protocolError(`${p.cmd} before CONNECT`);
      case ChannelState.Connecting:
        if (p.cmd === 'auth') return handleAuth(this, p);
        if (p.cmd === 'disconnect') {
          m['packets.disconnect.received']++;
          this.close('normal');
          return;
        }
        return this.protocolError(`${p.cmd} during authentication`);
      case ChannelState.Connected:
        break;
      default:
        return;
    }
    switch (p.cmd) {
      case 'publish':
        return handlePublish(this, p);
      case 'puback':
        return handlePuback(this, p);
      case 'pubrec':
        return handlePubrec(this, p);
      case 'pubrel':
        return handlePubrel(this, p);
      case 'pubcomp':
        return handlePubcomp(this, p);
      case 'subscribe':
        return handleSubscribe(this, p);
      case 'unsubscribe':
        return handleUnsubscribe(this, p);
      case 'pingreq':
        m['packets.pingreq.received']++;
        this.send({ cmd: 'pingresp' });
        m['packets.pingresp.sent']++;
        return;
      case 'disconnect':
        return handleDisconnect(this, p);
      case 'auth':
        return handleAuth(this, p);
      case 'connect':
        // A second CONNECT is a protocol violation [MQTT-3.1.0-2].
        m['packets.connect.received']++;
        return this.protocolError('second CONNECT');
    }
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
    const c = this.ctx.broker.metrics.c;
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
    if (this.heldPublishes !== undefined) this.heldPublishes.push([frame, offset, packetId]);
    else if (offset < 0) this.conn.send(frame);
    else this.conn.sendPatched(frame, offset, packetId);
  }

  /** From here until releaseOwnDeliveries, outgoing PUBLISH frames wait (see heldPublishes). */
  holdOwnDeliveries(): void {
    this.heldPublishes ??= [];
  }

  /** Writes the held PUBLISH frames in order. */
  releaseOwnDeliveries(): void {
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
    this.ctx.broker.metrics.c['packets.pubrel.sent']++;
  }

  // ------------------------------------------------------------------ access control

  /** Authorizes an action on an unmounted topic (superusers pass; cache per connection). */
  authorize(action: AuthzAction, topic: string): boolean | Promise<boolean> {
    return this.ctx.access.authorize(this.clientInfo, action, topic, this.authzCache);
  }

  /** The broker's deny_action: with 'disconnect' a denied client is disconnected with 0x87. */
  denied(): void {
    if (this.ctx.access.authz.denyAction === 'disconnect')
      this.disconnect(RC.NOT_AUTHORIZED, 'not_authorized');
  }

  /** Disconnects the client when its authentication expires (JWT exp, expire_at). */
  armAuthExpiry(expireAtSeconds: number | undefined): void {
    if (this.authExpiryTimer !== undefined) clearTimeout(this.authExpiryTimer);
    this.authExpiryTimer = undefined;
    if (expireAtSeconds === undefined) return;
    const ms = expireAtSeconds * 1000 - Date.now();
    const fire = () => {
      // 0xA0 Maximum connect time: the closest MQTT 5 reason for credentials that ran out.
      this.disconnect(RC.MAXIMUM_CONNECT_TIME, 'expired');
    };
    if (ms <= 0) {
      fire();
      return;
    }
    this.authExpiryTimer = setTimeout(fire, Math.min(ms, 2 ** 31 - 1));
    this.authExpiryTimer.unref();
  }

  // ------------------------------------------------------------------ closing

  /** Sends DISCONNECT with `rc` (MQTT 5, after CONNACK only) and closes. */
  disconnect(rc: number, reason: string, reasonText?: string): void {
    if (this.state === ChannelState.Closed) return;
    const m = this.ctx.broker.metrics.c;
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
    const c = this.ctx.broker.metrics.c;
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

  /** Closes the connection (flushing queued frames) and cleans up once. */
  close(reason: string): void {
    this.cleanup(reason);
    this.conn.close();
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

  /** Watched: the keepalive or login deadline. */
  deadline(): number {
    if (this.state === ChannelState.Connected) {
      return this.keepaliveMs > 0
        ? this.lastRecv + this.keepaliveMs * this.ctx.mqtt.keepalive_multiplier
        : Infinity;
    }
    return this.openedAt + this.ctx.mqtt.idle_timeout;
  }

  onDeadline(): void {
    if (this.state === ChannelState.Connected) {
      this.ctx.broker.metrics.c['client.keepalive_timeout']++;
      logger.info(
        { clientid: this.clientInfo.clientid, keepalive: this.keepaliveMs / 1000 },
        'mqtt: keepalive timeout',
      );
      this.disconnect(RC.KEEP_ALIVE_TIMEOUT, 'keepalive_timeout');
    } else if (this.state !== ChannelState.Closed) {
      logger.info(
        { peer: `${this.conn.peerhost}:${this.conn.peerport}` },
        'mqtt: no CONNECT within idle_timeout',
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
    this.ctx.deadlines.remove(this);
    this.ctx.channels.delete(this);
    if (this.authExpiryTimer !== undefined) clearTimeout(this.authExpiryTimer);
    if (!wasConnected) return;
    const broker = this.ctx.broker;
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
      const ctx = this.ctx;
      ctx.broker.scheduleWill(this.namespace, clientInfo.clientid, Math.min(delay, expiry) * 1000, () =>
        publishWill(ctx, clientInfo, will),
      );
      return;
    }
    publishWill(this.ctx, this.clientInfo, will);
  }
}
