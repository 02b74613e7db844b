/**
 * The MQTT channel: one per connection. It owns the protocol state machine, turns parsed packets into
 * broker calls (through the handlers in ./handlers) and deliveries into frames (./outgoing.ts). It is the
 * only place that knows MQTT; the session, broker and access control below it are protocol-agnostic.
 */
import type { AuthzCache } from '../access/authz-cache.js';
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
  /** Packets that arrived while an async step (hook, authentication) was running. */
  private backlog: ClientPacket[] | undefined;
  private authExpiryTimer: NodeJS.Timeout | undefined;
  private cleanedUp = false;
  /** Set when the registry took our session away (takeover / discard): do not close it ourselves. */
  private sessionHandedOver = false;

  constructor(
    readonly host: MqttHost,
    readonly conn: Connection,
    readonly listener: MqttListenerInfo,
  ) {
    this.parser = new MqttParser({ maxPacketSize: host.mqtt.max_packet_size, role: 'server' });
    host.channels.add(this);
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
    this.lastRecv = Date.now();
    this.host.broker.metrics.c['bytes.received'] += chunk.length;
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
    this.host.broker.metrics.c['packets.received']++;
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
      r = dispatch(this, packet);
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
        r = dispatch(this, packet);
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
    return this.host.access.authorize(this.clientInfo, action, topic, this.authzCache);
  }

  /** The broker's deny_action: with 'disconnect' a denied client is disconnected with 0x87. */
  denied(): void {
    if (this.host.access.authz.denyAction === 'disconnect')
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
        ? this.lastRecv + this.keepaliveMs * this.host.mqtt.keepalive_multiplier
        : Infinity;
    }
    return this.openedAt + this.host.mqtt.idle_timeout;
  }

  onDeadline(): void {
    if (this.state === ChannelState.Connected) {
      this.host.broker.metrics.c['client.keepalive_timeout']++;
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
    this.host.deadlines.remove(this);
    this.host.channels.delete(this);
    if (this.authExpiryTimer !== undefined) clearTimeout(this.authExpiryTimer);
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
