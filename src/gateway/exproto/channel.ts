/**
 * One ExProto connection. The gateway does not know the device protocol: bytes, socket events, timer
 * expiries and deliveries go to the user's handler (in order, one call in flight per connection), and the
 * handler acts through the ConnectionAdapter rpcs, which arrive here as commands in the connection's queue.
 */
import type { KickReason } from '../../broker/client-registry.js';
import type { QoS } from '../../broker/types.js';
import { andThen } from '../maybe-async.js';
import type {
  CallAnswer,
  ChannelCall,
  ChannelContext,
  Delivery,
  FrameCodec,
  FrameError,
  GatewayChannel,
  ParseOutput,
  Replies,
  Reply,
} from '../types.js';
import type { HandlerFailure } from './handler.js';
import { Code, type CodeResponse } from './proto.js';
import type { ExprotoConfig } from './schema.js';
import { type ConnRpc, type ExprotoService, serviceOf } from './service.js';

type R = Reply<Buffer>;
type Req = Record<string, unknown>;

/** Raw bytes both ways: framing is the handler's business (one datagram = one chunk on UDP). */
export class RawCodec implements FrameCodec<Buffer> {
  feed(chunk: Buffer): ParseOutput<Buffer> {
    return { frames: [chunk] };
  }
  serialize(frame: Buffer): Buffer {
    return frame;
  }
}

const SOCKET_TYPES: Record<string, string> = { tcp: 'TCP', ssl: 'SSL', udp: 'UDP', dtls: 'DTLS' };
const KEEPALIVE = 'keepalive';
const UDP_IDLE = 'udp_idle';

const reply = (code: Code, message = ''): CodeResponse => ({ code, message });
const answer = (r: CodeResponse, replies: R[] = []): CallAnswer<Buffer> => ({
  result: { ok: true, data: r },
  replies,
});

/** The channel of one ExProto connection. */
export class ExprotoChannel implements GatewayChannel<Buffer> {
  private readonly svc: ExprotoService | undefined;
  private readonly id: string;
  private authenticated = false;
  private keepaliveMs = 0;
  private udpIdleArmed = false;
  private lastRecv = 0;
  /** Deliveries collected in this tick, sent as one OnReceivedMessages. */
  private batch: Delivery[] | undefined;
  private gone = false;

  constructor(private readonly ctx: ChannelContext<ExprotoConfig>) {
    this.svc = serviceOf(ctx.node);
    this.id = this.svc?.register(this) ?? '';
    const c = ctx.conn;
    this.toHandler('OnSocketCreated', {
      conn: this.id,
      conninfo: {
        socktype: SOCKET_TYPES[c.transport] ?? 'TCP',
        peername: { host: c.peerhost, port: c.peerport },
        sockname: { host: c.sockhost, port: c.sockport },
        peercert: c.peerCert ? { cn: c.peerCert.cn ?? '', dn: c.peerCert.dn ?? '' } : undefined,
      },
    });
  }

  /** The connection id handlers name this connection by. */
  get connId(): string {
    return this.id;
  }

  handleIn(bytes: Buffer): Replies<Buffer> {
    if (this.svc === undefined) return [{ type: 'close', reason: 'gateway_not_running' }];
    this.toHandler('OnReceivedBytes', { conn: this.id, bytes });
    if (this.udpIdleArmed || this.ctx.conn.transport !== 'udp' || this.keepaliveMs > 0) return [];
    // A UDP peer cannot say goodbye: without a keepalive it is forgotten idle_timeout after it appeared.
    this.udpIdleArmed = true;
    return [{ type: 'timer', name: UDP_IDLE, ms: this.ctx.config.idle_timeout }];
  }

  handleFrameError(err: FrameError): R[] {
    return [{ type: 'close', reason: err.reason }];
  }

  handleDeliver(d: Delivery): R[] {
    if (this.batch === undefined) {
      this.batch = [];
      // Everything the session hands over in this tick goes to the handler in one call.
      queueMicrotask(() => this.flushDeliveries());
    }
    this.batch.push(d);
    return [];
  }

  private flushDeliveries(): void {
    const batch = this.batch ?? [];
    this.batch = undefined;
    if (this.gone || batch.length === 0) return;
    const node = this.ctx.node;
    const messages = batch.map((d) => ({
      node,
      id: d.msg.id,
      qos: d.qos,
      from: d.msg.from,
      topic: d.topic,
      payload: d.msg.payload,
      timestamp: d.msg.timestamp,
    }));
    this.toHandler('OnReceivedMessages', { conn: this.id, messages }, () => {
      // Acknowledged once the handler took them: the session's inflight window moves on.
      for (const d of batch) {
        if (d.qos === 1) this.ctx.acked(d.packetId);
        else if (d.qos === 2) {
          this.ctx.received(d.packetId);
          this.ctx.completed(d.packetId);
        }
      }
    });
  }

  handleTimeout(name: string): Replies<Buffer> {
    if (name === UDP_IDLE) return [{ type: 'close', reason: 'idle_timeout' }];
    if (name !== KEEPALIVE) return [];
    const recv = this.ctx.conn.stats.recvOct;
    if (recv !== this.lastRecv) {
      this.lastRecv = recv;
      return [{ type: 'timer', name: KEEPALIVE, ms: this.keepaliveMs }];
    }
    this.ctx.metrics.inc('client.keepalive_timeout');
    this.toHandler('OnTimerTimeout', { conn: this.id, type: 'KEEPALIVE' });
    return [{ type: 'close', reason: 'keepalive_timeout' }];
  }

  handleKick(reason: KickReason): R[] {
    return [{ type: 'close', reason }];
  }

  handleClosed(reason: string): void {
    this.gone = true;
    if (this.svc === undefined) return;
    this.svc.unregister(this.id);
    this.svc.handler.forget(this.id);
    this.svc.handler.send(this.id, { rpc: 'OnSocketClosed', request: { conn: this.id, reason } });
  }

  handleCall(call: ChannelCall): CallAnswer<Buffer> | Promise<CallAnswer<Buffer>> {
    if (call.type === 'subscribe')
      return andThen(this.ctx.subscribe(call.topic, call.opts), (r) => ({
        result:
          r.result === 'ok'
            ? { ok: true, topic: r.topic, opts: call.opts }
            : { ok: false, status: 400, message: r.message },
        replies: [],
      }));
    if (call.type === 'unsubscribe')
      return andThen(this.ctx.unsubscribe(call.topic), (found) => ({
        result: found
          ? { ok: true, topic: this.ctx.mount(call.topic) }
          : { ok: false, status: 404, message: 'Subscription not found' },
        replies: [],
      }));
    const data = call.data as { rpc: ConnRpc; req: Req } | undefined;
    if (call.name === 'handler_failed')
      return { result: { ok: true }, replies: [{ type: 'close', reason: String(call.data) }] };
    if (call.name !== 'adapter' || data === undefined)
      return {
        result: { ok: false, status: 400, message: `exproto has no command ${call.name}` },
        replies: [],
      };
    return this.adapter(data.rpc, data.req);
  }

  /** AdapterTarget: an adapter rpc for this connection, served in its queue. */
  adapterCall(rpc: ConnRpc, req: Req): Promise<CodeResponse | undefined> {
    return this.ctx
      .callSelf('adapter', { rpc, req })
      .then((r) => (r.ok ? (r.data as CodeResponse) : undefined));
  }

  private adapter(rpc: ConnRpc, req: Req): CallAnswer<Buffer> | Promise<CallAnswer<Buffer>> {
    switch (rpc) {
      case 'Send':
        return answer(reply(Code.SUCCESS), [{ type: 'send_bytes', data: req.bytes as Buffer }]);
      case 'Close':
        return answer(reply(Code.SUCCESS), [{ type: 'close', reason: 'normal' }]);
      case 'Authenticate':
        return this.authenticate(req);
      case 'StartTimer':
        return this.startTimer(req);
      case 'Publish':
        return this.publish(req);
      case 'Subscribe':
        return this.subscribe(req);
      case 'Unsubscribe':
        if (!this.authenticated) return answer(reply(Code.UNKNOWN, 'unexpected_call'));
        return andThen(this.ctx.unsubscribe(req.topic as string), () => answer(reply(Code.SUCCESS)));
    }
  }

  private authenticate(req: Req): CallAnswer<Buffer> | Promise<CallAnswer<Buffer>> {
    const ci = (req.clientinfo ?? {}) as Record<string, string>;
    if (!ci.proto_name || !ci.proto_ver || !ci.clientid)
      return answer(reply(Code.REQUIRED_PARAMS_MISSED, 'proto_name, proto_ver and clientid are required'));
    if (this.authenticated) return answer(reply(Code.PERMISSION_DENY, 'Duplicated authenticate command'));
    const password = req.password as string;
    const login = this.ctx.login({
      clientid: ci.clientid,
      username: ci.username || undefined,
      password: password === '' ? undefined : password,
      packet: { clientinfo: ci },
      proto_name: ci.proto_name,
      proto_ver: ci.proto_ver,
      // ClientInfo.mountpoint is ignored, as EMQX has done since 5.1: handlers written for EMQX 5 may send one
      // and expect the gateway's (or listener's) mountpoint to apply, so honouring it would move their topics.
      keepalive: 0,
      clean_start: true,
      expiry_interval: 0,
    });
    return andThen(login, (r) => {
      if (!r.ok) return answer(reply(Code.PERMISSION_DENY, r.message));
      this.authenticated = true;
      return answer(reply(Code.SUCCESS), [{ type: 'connected' }]);
    });
  }

  private startTimer(req: Req): CallAnswer<Buffer> {
    const interval = req.interval as number;
    if (req.type !== 'KEEPALIVE' || !(interval > 0))
      return answer(reply(Code.PARAMS_TYPE_ERROR, 'type must be KEEPALIVE and interval > 0'));
    this.keepaliveMs = interval * 1000;
    this.lastRecv = this.ctx.conn.stats.recvOct;
    this.ctx.setKeepalive(interval);
    return answer(reply(Code.SUCCESS), [
      { type: 'cancel_timer', name: UDP_IDLE },
      { type: 'timer', name: KEEPALIVE, ms: this.keepaliveMs },
    ]);
  }

  private publish(req: Req): CallAnswer<Buffer> | Promise<CallAnswer<Buffer>> {
    if (!this.authenticated) return answer(reply(Code.UNKNOWN, 'unexpected_call'));
    const qos = req.qos as number;
    if (qos > 2) return answer(reply(Code.PARAMS_TYPE_ERROR, 'qos must be 0, 1 or 2'));
    const res = this.ctx.publish({
      topic: req.topic as string,
      payload: req.payload as Buffer,
      qos: qos as QoS,
      retain: false,
    });
    return andThen(res, (r) => {
      if (r.result === 'ok') return answer(reply(Code.SUCCESS));
      if (r.result === 'denied') return answer(reply(Code.PERMISSION_DENY, 'Authorization deny'));
      if (r.result === 'invalid') return answer(reply(Code.PARAMS_TYPE_ERROR, r.message));
      return answer(reply(Code.UNKNOWN, r.message));
    });
  }

  private subscribe(req: Req): CallAnswer<Buffer> | Promise<CallAnswer<Buffer>> {
    if (!this.authenticated) return answer(reply(Code.UNKNOWN, 'unexpected_call'));
    const qos = req.qos as number;
    if (qos > 2) return answer(reply(Code.PARAMS_TYPE_ERROR, 'qos must be 0, 1 or 2'));
    const res = this.ctx.subscribe(req.topic as string, { qos: qos as QoS, nl: 0, rap: 0, rh: 0 });
    return andThen(res, (r) => {
      if (r.result === 'ok') return answer(reply(Code.SUCCESS));
      if (r.result === 'denied') return answer(reply(Code.PERMISSION_DENY, 'Authorization deny'));
      if (r.result === 'invalid') return answer(reply(Code.PARAMS_TYPE_ERROR, r.message));
      return answer(reply(Code.UNKNOWN, r.message));
    });
  }

  /**
   * Queues an event for the handler. If the handler cannot take it, the bytes or messages would be lost
   * silently: the connection is closed instead, with the failure as its reason.
   */
  private toHandler(rpc: HandlerFailure['rpc'], request: object, done?: () => void): void {
    if (this.svc === undefined) return;
    this.svc.handler.send(this.id, {
      rpc,
      request,
      done,
      failed: (f) => {
        if (this.gone) return;
        this.ctx.metrics.inc(rpc === 'OnReceivedMessages' ? 'messages.dropped' : 'packets.dropped');
        const reason = f.status === 'DEADLINE_EXCEEDED' ? 'handler_timeout' : 'handler_unavailable';
        void this.ctx.callSelf('handler_failed', reason);
      },
    });
  }
}
