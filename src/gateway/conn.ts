/**
 * The connection driver (EMQX `emqx_gateway_conn`): one per client connection of any gateway and any
 * transport. It feeds bytes to the gateway's codec, hands frames, timeouts, deliveries and kicks to the
 * channel one at a time, and carries out the replies (send, timers, connected, close). It is the client's
 * LiveChannel in the registry and its session's outlet, and keeps the idle timeout before login.
 */

import type { KickReason, LiveChannel } from '../broker/client-registry.js';
import type { Watched } from '../broker/deadlines.js';
import type { Message } from '../broker/message.js';
import type { SessionOutlet } from '../broker/session.js';
import type { ClientInfo, ConnInfo, QoS, SubOpts } from '../broker/types.js';
import type { CloseReason, Connection, ConnectionHandler } from '../transport/connection.js';
import { GatewayChannelContext } from './context.js';
import { andThen } from './maybe-async.js';
import type { ClientCounters, ContextDriver, GatewayScope } from './scope.js';
import type {
  CallAnswer,
  CallResult,
  ChannelCall,
  FrameCodec,
  FrameError,
  GatewayChannel,
  GatewayListenerInfo,
  LiveConnection,
  Replies,
  Reply,
} from './types.js';

/** One call waiting in the queue, and who waits for its result. */
interface PendingCall {
  req: ChannelCall;
  settle(result: CallResult): void;
  /** Served before login too (the channel's own commands, see ChannelContext.callSelf). */
  beforeLogin?: boolean;
}

type Input<F> =
  | { k: 'frame'; f: F }
  | { k: 'error'; e: FrameError }
  | { k: 'timeout'; name: string; data: unknown }
  | { k: 'call'; c: PendingCall };

const GONE: CallResult = { ok: false, status: 404, message: 'client process not found' };

/** Drives one client connection of any gateway: codec, channel, replies, session outlet, registry entry. */
export class GatewayConnection<F>
  implements ConnectionHandler, LiveChannel, SessionOutlet, Watched, LiveConnection, ContextDriver
{
  readonly ctx: GatewayChannelContext;
  readonly channel: GatewayChannel<F>;
  readonly openedAt = Date.now();
  readonly counters: ClientCounters = { recvPkt: 0, sendPkt: 0, recvMsg: 0, sendMsg: 0 };
  private readonly codec: FrameCodec<F>;
  private state: 'idle' | 'connected' | 'closed' = 'idle';
  /** Armed timers by name and key. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The call being served while its answer is asynchronous (settled if the connection dies first). */
  private serving: PendingCall | undefined;
  /** Inputs waiting while an async answer (hook, authenticator) is pending. */
  private backlog: Input<F>[] | undefined;
  private parseStopped = false;
  private held = false;
  private handedOver = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** True from handing an input to the channel until its replies are carried out. */
  private inInput = false;
  /**
   * Deliveries caused by the client's own publish, held until the input's replies (its ack) are sent. A flag
   * plus a lazily made list: most publishes cause no delivery back to their sender, so they allocate nothing.
   */
  private holdingOwn = false;
  private ownDeliveries: Reply<F>[][] | undefined;

  constructor(
    readonly gw: GatewayScope,
    readonly conn: Connection,
    readonly listener: GatewayListenerInfo,
  ) {
    this.ctx = new GatewayChannelContext(gw, this, listener, {
      transport: conn.transport,
      kind: conn.kind,
      peerhost: conn.peerhost,
      peerport: conn.peerport,
      sockport: conn.sockport,
      sockhost: conn.sockhost,
      peerCert: conn.peerCert,
      pskIdentity: conn.pskIdentity,
      // A getter: transports hand out a fresh snapshot per read.
      get stats() {
        return conn.stats;
      },
    });
    const mod = gw.module;
    this.codec = mod.createCodec(gw.config) as FrameCodec<F>;
    this.channel = mod.createChannel(this.ctx) as GatewayChannel<F>;
    gw.opened(this);
    gw.env.deadlines.add(this);
    conn.setHandler(this);
  }

  /** LiveChannel: set at login. */
  get clientInfo(): ClientInfo {
    return this.ctx.clientInfo!;
  }

  get connInfo(): ConnInfo {
    return this.ctx.connInfo!;
  }

  /** The connection's authorization cache (access control clears it when sources change). */
  get authzCache() {
    return this.ctx.authzCache;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** LiveConnection: the logged-in client's id ('' before login). */
  get clientid(): string {
    return this.ctx.clientInfo?.clientid ?? '';
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  // ---------------------------------------------------------------- transport events

  onData(chunk: Buffer): void {
    this.gw.metrics.inc('bytes.received', chunk.length);
    if (this.state === 'closed' || this.parseStopped) return;
    let out: ReturnType<FrameCodec<F>['feed']>;
    try {
      out = this.codec.feed(chunk);
    } catch (err) {
      // A codec must report errors as values; a throw is a bug, but never a crash of the node.
      this.gw.log.error({ err }, `${this.gw.name}: codec threw`);
      out = { frames: [], error: { reason: 'internal_error', message: (err as Error).message } };
    }
    if (out.frames.length > 0 && this.state === 'idle' && this.gw.module.idleTimeoutEnds === 'first_frame')
      this.gw.env.deadlines.remove(this);
    for (const f of out.frames) {
      this.counters.recvPkt++;
      this.gw.metrics.inc('packets.received');
      this.input({ k: 'frame', f });
    }
    if (out.error !== undefined) {
      const e = out.error;
      this.gw.metrics.inc(e.reason.startsWith('too_') ? 'packets.too_large' : 'packets.malformed');
      // A stream cannot resynchronise after garbage; a datagram transport just drops the bad datagram.
      if (this.conn.kind === 'stream') this.parseStopped = true;
      this.input({ k: 'error', e });
    }
  }

  onClose(reason: CloseReason, error?: Error): void {
    if (error !== undefined) this.ctx.log.debug({ err: error.message }, 'socket error');
    if (reason === 'timeout')
      this.ctx.log.warn(
        { clientid: this.ctx.clientInfo?.clientid },
        `${this.gw.name}: slow consumer: writes blocked for send_timeout; connection dropped`,
      );
    this.cleanup(reason === 'local' ? 'closed' : reason === 'timeout' ? 'send_timeout' : 'sock_closed');
  }

  onDrain(): void {
    this.ctx.session?.drain();
  }

  // ---------------------------------------------------------------- the serial input queue

  private input(i: Input<F>): void {
    if (this.state === 'closed') return;
    if (this.backlog !== undefined) {
      this.backlog.push(i);
      return;
    }
    this.run(i);
  }

  private run(i: Input<F>): void {
    let r: Replies<F>;
    this.inInput = true;
    try {
      switch (i.k) {
        case 'frame':
          r = this.channel.handleIn(i.f);
          break;
        case 'error':
          r = this.channel.handleFrameError(i.e);
          break;
        case 'timeout':
          r = this.channel.handleTimeout(i.name, i.data);
          break;
        case 'call':
          r = this.serve(i.c);
          break;
      }
    } catch (err) {
      this.internalError(err);
      return;
    }
    if (!(r instanceof Promise)) {
      this.execute(r);
      this.endInput();
      return;
    }
    this.backlog = [];
    this.conn.pause();
    r.then(
      (replies) => {
        this.execute(replies);
        this.endInput();
        this.resume();
      },
      (err) => this.internalError(err),
    );
  }

  /**
   * Called before the client's own publish reaches the broker: a delivery it causes back to this client
   * waits until the input's replies are sent, so a PUBACK/RECEIPT leaves before that delivery (clients such
   * as Paho's MQTT-SN samples read the next datagram as the ack they wait for).
   */
  deferOwnDeliveries(): void {
    if (this.inInput) this.holdingOwn = true;
  }

  private endInput(): void {
    this.inInput = false;
    this.holdingOwn = false;
    const held = this.ownDeliveries;
    if (held === undefined) return;
    this.ownDeliveries = undefined;
    for (const replies of held) {
      if (this.isClosed()) return;
      this.execute(replies);
    }
  }

  private resume(): void {
    const backlog = this.backlog;
    this.backlog = undefined;
    if (backlog === undefined || this.state === 'closed') return;
    while (backlog.length > 0) {
      this.run(backlog.shift()!);
      if (this.isClosed()) return;
      if (this.backlog !== undefined) {
        // Another async step started: it takes the rest of the queue after its own.
        (this.backlog as Input<F>[]).push(...backlog);
        return;
      }
    }
    this.conn.resume();
  }

  // ---------------------------------------------------------------- calls

  /** LiveConnection: queues a call behind any pending input; settles once the channel answered. */
  call(req: ChannelCall): Promise<CallResult> {
    if (this.state !== 'connected') return Promise.resolve(GONE);
    return this.enqueueCall(req, false);
  }

  /** ContextDriver: the channel's own command, served logged in or not. */
  command(name: string, data: unknown): Promise<CallResult> {
    if (this.state === 'closed') return Promise.resolve(GONE);
    return this.enqueueCall({ type: 'command', name, data }, true);
  }

  private enqueueCall(req: ChannelCall, beforeLogin: boolean): Promise<CallResult> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: CallResult): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      this.input({ k: 'call', c: { req, settle, beforeLogin } });
      // Closed while queued: input() dropped it.
      if (this.state === 'closed') settle(GONE);
    });
  }

  /** Runs one call: the channel's own handler, else the framework's subscribe/unsubscribe. */
  private serve(c: PendingCall): Replies<F> {
    if (this.state === 'closed' || (this.state !== 'connected' && c.beforeLogin !== true)) {
      c.settle(GONE);
      return [];
    }
    this.serving = c;
    const answer = this.channel.handleCall?.(c.req) ?? this.defaultCall(c.req);
    return andThen(answer, (a) => {
      this.serving = undefined;
      c.settle(a.result);
      return a.replies;
    });
  }

  private defaultCall(req: ChannelCall): CallAnswer<F> | Promise<CallAnswer<F>> {
    const answer = (result: CallResult): CallAnswer<F> => ({ result, replies: [] });
    switch (req.type) {
      case 'subscribe':
        return andThen(this.ctx.subscribe(req.topic, req.opts), (res) =>
          answer(
            res.result === 'ok'
              ? { ok: true, topic: res.topic, opts: req.opts }
              : { ok: false, status: 400, message: res.message },
          ),
        );
      case 'unsubscribe': {
        const mounted = this.ctx.mount(req.topic);
        const opts = this.ctx.session?.subscriptions.get(mounted);
        if (opts === undefined) return answer({ ok: false, status: 404, message: 'Subscription not found' });
        return andThen(this.ctx.unsubscribe(req.topic), () => answer({ ok: true, topic: mounted, opts }));
      }
      case 'command':
        return answer({ ok: false, status: 400, message: `${this.gw.name} has no command ${req.name}` });
    }
  }

  // ---------------------------------------------------------------- replies

  /** Carries out replies in order. */
  execute(replies: readonly Reply<F>[]): void {
    for (const r of replies) {
      switch (r.type) {
        case 'send':
          this.sendBytes(this.codec.serialize(r.frame), true);
          break;
        case 'send_bytes':
          this.sendBytes(r.data, false);
          break;
        case 'connected':
          this.onConnected();
          break;
        case 'timer':
          this.armTimer(r.name, r.key, r.ms, r.data);
          break;
        case 'cancel_timer':
          this.cancelTimer(timerId(r.name, r.key));
          break;
        case 'close':
          this.close(r.reason);
          return;
      }
    }
  }

  private sendBytes(data: Buffer, frame: boolean): void {
    if (this.conn.closed) return;
    const m = this.gw.metrics;
    m.inc('bytes.sent', data.length);
    if (frame) {
      m.inc('packets.sent');
      this.counters.sendPkt++;
    }
    this.conn.send(data);
  }

  private armTimer(name: string, key: string | number | undefined, ms: number, data: unknown): void {
    const id = timerId(name, key);
    this.cancelTimer(id);
    if (this.state === 'closed') return;
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.input({ k: 'timeout', name, data });
    }, ms);
    t.unref();
    this.timers.set(id, t);
  }

  private cancelTimer(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(id);
  }

  private onConnected(): void {
    if (this.state !== 'idle' || this.ctx.clientInfo === undefined) return;
    this.state = 'connected';
    this.gw.env.deadlines.remove(this);
    const broker = this.gw.env.broker;
    broker.metrics.c['client.connected']++;
    this.gw.metrics.inc('client.connected');
    const session = this.ctx.session;
    if (session !== undefined) this.gw.lastConn.set(session, this.connInfo);
    this.gw.track(this);
    if (broker.hooks.has('client.connected'))
      broker.hooks.run('client.connected', this.clientInfo, this.connInfo);
    this.armAuthExpiry(this.ctx.expireAt);
    session?.attach(this);
  }

  private armAuthExpiry(expireAtSeconds: number | undefined): void {
    if (expireAtSeconds === undefined) return;
    const ms = expireAtSeconds * 1000 - Date.now();
    if (ms <= 0) {
      this.kick('expired');
      return;
    }
    this.expiryTimer = setTimeout(() => this.kick('expired'), Math.min(ms, 2 ** 31 - 1));
    this.expiryTimer.unref();
  }

  // ---------------------------------------------------------------- SessionOutlet

  get writable(): boolean {
    return this.state === 'connected' && !this.held && !this.conn.congested;
  }

  sendPublish(
    msg: Message,
    qos: QoS,
    packetId: number,
    retain: boolean,
    dup: boolean,
    opts: SubOpts,
  ): boolean {
    if (this.state === 'closed') return false;
    let replies: Reply<F>[] | undefined;
    try {
      replies = this.channel.handleDeliver({
        msg,
        topic: this.ctx.unmount(msg.topic),
        qos,
        packetId,
        retain,
        dup,
        opts,
      });
    } catch (err) {
      this.gw.log.error({ err }, `${this.gw.name}: delivery failed`);
      replies = undefined;
    }
    if (replies === undefined) {
      this.gw.metrics.inc('messages.dropped');
      return false;
    }
    this.counters.sendMsg++;
    this.gw.metrics.inc('messages.sent');
    const c = this.gw.env.broker.metrics.c;
    c['messages.sent']++;
    c[qos === 0 ? 'messages.qos0.sent' : qos === 1 ? 'messages.qos1.sent' : 'messages.qos2.sent']++;
    if (this.holdingOwn) (this.ownDeliveries ??= []).push(replies);
    else this.execute(replies);
    return true;
  }

  sendPubrel(packetId: number): void {
    const replies = this.channel.handlePubrel?.(packetId);
    if (replies !== undefined) this.execute(replies);
  }

  /** See ChannelContext.holdDeliveries. */
  holdDeliveries(hold: boolean): void {
    const was = this.held;
    this.held = hold;
    // Draining from inside a delivery would re-enter the session; it resumes on its own once we return.
    if (was && !hold) queueMicrotask(() => this.ctx.session?.drain());
  }

  // ---------------------------------------------------------------- closing

  /** LiveChannel: the broker (or the gateway) ends this client. Synchronous, as the registry requires. */
  kick(reason: KickReason): void {
    if (this.state === 'closed') return;
    if (reason === 'takenover' || reason === 'discarded') this.handedOver = true;
    let replies: Reply<F>[];
    try {
      replies = this.channel.handleKick(reason);
    } catch (err) {
      this.gw.log.error({ err }, `${this.gw.name}: kick handler failed`);
      replies = [];
    }
    this.execute(replies);
    if (!this.isClosed()) this.close(reason);
  }

  /** Watched: past the login deadline (idle_timeout); none once connected. */
  expired(now: number): boolean {
    return this.state === 'idle' && now > this.openedAt + this.gw.config.idle_timeout;
  }

  onDeadline(): void {
    if (this.state !== 'idle') return;
    this.gw.metrics.inc('client.idle_timeout');
    this.ctx.log.info(`${this.gw.name}: no login within idle_timeout; closing`);
    this.close('idle_timeout');
  }

  /** Flushes queued frames, closes the connection and cleans up once. */
  close(reason: string): void {
    this.cleanup(reason);
    this.conn.close();
  }

  private internalError(err: unknown): void {
    this.gw.log.error(
      { err, clientid: this.ctx.clientInfo?.clientid },
      `${this.gw.name}: internal error; closing`,
    );
    this.close('internal_error');
  }

  private cleanup(reason: string): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    const backlog = this.backlog;
    this.backlog = undefined;
    // Callers waiting on this connection learn that it is gone.
    this.serving?.settle(GONE);
    this.serving = undefined;
    for (const i of backlog ?? []) if (i.k === 'call') i.c.settle(GONE);
    this.holdingOwn = false;
    this.ownDeliveries = undefined;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.gw.env.deadlines.remove(this);
    this.gw.closed(this);
    const broker = this.gw.env.broker;
    const session = this.ctx.session;
    if (session !== undefined) {
      // The registry may have replaced us (takeover/discard): then the session is no longer ours to close.
      if (this.handedOver) session.detach();
      else broker.closeSession(this.gw.name, this, session);
    }
    if (wasConnected) {
      this.connInfo.disconnected_at = Date.now();
      broker.metrics.c['client.disconnected']++;
      this.gw.metrics.inc('client.disconnected');
      if (broker.hooks.has('client.disconnected'))
        broker.hooks.run('client.disconnected', this.clientInfo, reason, this.connInfo);
    }
    try {
      this.channel.handleClosed(reason);
    } catch (err) {
      this.gw.log.error({ err }, `${this.gw.name}: close handler failed`);
    }
  }
}

/** The map key of a timer: its name, and its key when several of one name run at once. */
function timerId(name: string, key: string | number | undefined): string {
  return key === undefined ? name : `${name}\u0000${key}`;
}
