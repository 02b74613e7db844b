/**
 * The STOMP channel (EMQX `emqx_stomp_channel`): version negotiation and login, heart-beating, SEND →
 * publish with header pass-through, SUBSCRIBE/UNSUBSCRIBE with ids and ack modes, MESSAGE delivery,
 * ACK/NACK, receipts, transactions and DISCONNECT. Pure: every handler returns replies for the driver.
 */
import type { KickReason } from '../../broker/client-registry.js';
import { parseSubscriptionTopic, topicMatches } from '../../broker/topic.js';
import type { SubOpts } from '../../broker/types.js';
import { andThen } from '../maybe-async.js';
import type {
  CallAnswer,
  CallResult,
  ChannelCall,
  ChannelContext,
  Delivery,
  FrameError,
  GatewayChannel,
  Replies,
  Reply,
} from '../types.js';
import { frame, header, type StompFrame } from './frame.js';
import { HeartbeatChecker, parseHeartBeat } from './heartbeat.js';
import type { StompConfig } from './schema.js';

type R = Reply<StompFrame>;
type AckMode = 'auto' | 'client' | 'client-individual';

interface Subscription {
  id: string;
  /** The destination as the client wrote it (unmounted). */
  topic: string;
  ack: AckMode;
  opts: SubOpts;
}

interface Transaction {
  startedAt: number;
  frames: StompFrame[];
}

/** Versions this server speaks, best first. */
const VERSIONS = ['1.2', '1.1', '1.0'] as const;
/** EMQX's server header; kept so clients and tests written against EMQX see the same CONNECTED. */
const SERVER = 'emqx-stomp/1.2';
/** What open transactions of one connection may hold before it is refused (memory stays bounded). */
const MAX_TX_FRAMES = 10_000;
const MAX_TX_BYTES = 16 * 1024 * 1024;
/** SEND headers that describe the frame itself and do not travel with the message. */
const OWN_HEADERS = new Set(['destination', 'content-length', 'transaction', 'receipt']);

/** The ERROR frame: short text in `message`, the same text as body, `receipt-id` when caused by a receipted frame. */
export function errorFrame(text: string, cause?: StompFrame): StompFrame {
  return frame(
    'ERROR',
    { message: text, 'receipt-id': cause && header(cause, 'receipt'), 'content-type': 'text/plain' },
    Buffer.from(text),
  );
}

/** One STOMP connection's protocol state. */
export class StompChannel implements GatewayChannel<StompFrame> {
  private state: 'idle' | 'connected' | 'closed' = 'idle';
  private readonly subs = new Map<string, Subscription>();
  /** Subscriptions by the SubOpts object given to the session, which deliveries hand back. */
  private readonly byOpts = new Map<SubOpts, Subscription>();
  private readonly transactions = new Map<string, Transaction>();
  /** Frames and body bytes waiting in open transactions. */
  private txFrames = 0;
  private txBytes = 0;
  private messageSeq = 0;
  private ackSeq = 0;
  private heartbeat: HeartbeatChecker | undefined;
  private version: (typeof VERSIONS)[number] = '1.0';

  constructor(private readonly ctx: ChannelContext<StompConfig>) {}

  // ---------------------------------------------------------------- input

  handleIn(f: StompFrame): Replies<StompFrame> {
    if (this.state === 'closed') return [];
    if (this.state === 'idle') {
      if (f.command === 'CONNECT' || f.command === 'STOMP') return this.connect(f);
      this.ctx.log.info({ command: f.command }, 'stomp: frame before CONNECT; closing');
      return this.fatal('Not connected', f, 'not_connected');
    }
    switch (f.command) {
      case 'SEND':
        return this.inTransaction(f) ?? this.send(f);
      case 'ACK':
      case 'NACK':
        // Accepted, never redelivered (subscriptions are QoS 0); a transaction only delays the receipt.
        return this.inTransaction(f) ?? this.receipt(f);
      case 'SUBSCRIBE':
        return this.subscribe(f);
      case 'UNSUBSCRIBE':
        return this.unsubscribe(f);
      case 'BEGIN':
        return this.begin(f);
      case 'COMMIT':
        return this.commit(f);
      case 'ABORT':
        return this.abort(f);
      case 'DISCONNECT':
        return [...this.receipt(f), { type: 'close', reason: 'normal' }];
      case 'CONNECT':
      case 'STOMP':
        return this.fatal('Already connected', f, 'protocol_error');
      default:
        this.ctx.log.info({ command: f.command.slice(0, 32) }, 'stomp: unknown command; closing');
        this.ctx.metrics.inc('packets.malformed');
        return this.fatal(`Unknown command: ${f.command.slice(0, 32)}`, f, 'protocol_error');
    }
  }

  handleFrameError(err: FrameError): Replies<StompFrame> {
    this.ctx.log.info({ reason: err.reason }, `stomp: ${err.message}; closing`);
    // Before login the peer may not speak STOMP at all: no ERROR, just close (as EMQX).
    if (this.state !== 'connected') return this.close('frame_error');
    return [{ type: 'send', frame: errorFrame(err.message) }, ...this.close('frame_error')];
  }

  handleTimeout(name: string, _data?: unknown): Replies<StompFrame> {
    if (this.state !== 'connected') return [];
    const hb = this.heartbeat;
    const stats = this.ctx.conn.stats;
    if (name === 'hb_in' && hb !== undefined) {
      if (hb.checkIncoming(stats.recvOct) === 'timeout') {
        this.ctx.metrics.inc('client.keepalive_timeout');
        this.ctx.log.info({ clientid: this.ctx.clientInfo?.clientid }, 'stomp: heart-beat timeout');
        return this.close('keepalive_timeout');
      }
      return [{ type: 'timer', name, ms: hb.incoming }];
    }
    if (name === 'hb_out' && hb !== undefined) {
      const out: R[] = [];
      if (hb.checkOutgoing(stats.sendOct)) {
        out.push({ type: 'send_bytes', data: Buffer.from('\n') });
        hb.sent(stats.sendOct + 1);
      }
      out.push({ type: 'timer', name, ms: hb.outgoingTick });
      return out;
    }
    if (name === 'tx_sweep') return this.sweepTransactions();
    return [];
  }

  handleKick(reason: KickReason): Reply<StompFrame>[] {
    if (this.state === 'closed') return [];
    const text =
      reason === 'kicked'
        ? 'Kicked out'
        : reason === 'discarded' || reason === 'takenover'
          ? 'Discarded'
          : undefined;
    const out: R[] = text === undefined ? [] : [{ type: 'send', frame: errorFrame(text) }];
    return [...out, ...this.close(reason)];
  }

  handleClosed(_reason: string): void {
    this.state = 'closed';
    this.transactions.clear();
  }

  // ---------------------------------------------------------------- CONNECT

  private connect(f: StompFrame): Replies<StompFrame> {
    const version = negotiate(header(f, 'accept-version'));
    if (version === undefined) {
      // STOMP 1.1/1.2 require the versions the server speaks in a `version` header of this ERROR.
      const e = errorFrame('Login Failed: Supported protocol versions < 1.2', f);
      e.headers.push(['version', [...VERSIONS].reverse().join(',')]);
      return [{ type: 'send', frame: e }, ...this.close('unsupported_version')];
    }
    const hb = parseHeartBeat(header(f, 'heart-beat'));
    if (hb === undefined) return this.fatal('Login Failed: Bad heart-beat header', f, 'protocol_error');
    const [cx, cy] = hb;
    const headers: Record<string, string> = {};
    for (const [k, v] of f.headers) headers[k] = v;
    const login = this.ctx.login({
      clientid: header(f, 'client-id') ?? '',
      username: header(f, 'login'),
      password: header(f, 'passcode'),
      packet: { headers, command: f.command },
      proto_name: 'STOMP',
      proto_ver: version,
      keepalive: Math.floor(cx / 1000),
      clean_start: true,
      expiry_interval: 0,
    });
    return andThen(login, (r): R[] => {
      if (!r.ok) return this.fatal(`Login Failed: ${r.reason}`, f, r.reason);
      this.state = 'connected';
      this.version = version;
      const stats = this.ctx.conn.stats;
      this.heartbeat = new HeartbeatChecker(cx, cy, stats.recvOct, stats.sendOct);
      const out: R[] = [
        {
          type: 'send',
          frame: frame('CONNECTED', { version, 'heart-beat': `${cy},${cx}`, server: SERVER }),
        },
        { type: 'connected' },
      ];
      if (cx > 0) out.push({ type: 'timer', name: 'hb_in', ms: cx });
      if (cy > 0) out.push({ type: 'timer', name: 'hb_out', ms: this.heartbeat.outgoingTick });
      return out;
    });
  }

  // ---------------------------------------------------------------- SEND

  private send(f: StompFrame): Replies<StompFrame> {
    const topic = header(f, 'destination');
    if (topic === undefined || topic === '')
      return this.fatal('Missing destination header', f, 'protocol_error');
    const pass: Array<[string, string]> = f.headers.filter(([k]) => !OWN_HEADERS.has(k));
    const contentType = header(f, 'content-type');
    const userProperties = pass.filter(([k]) => k !== 'content-type');
    const r = this.ctx.publish({
      topic,
      payload: f.body,
      qos: 0,
      retain: false,
      headers: { stomp_headers: pass },
      // MQTT 5 subscribers see the STOMP headers too: content-type as Content Type, the rest as user properties.
      props: {
        ...(contentType !== undefined ? { contentType } : {}),
        ...(userProperties.length > 0 ? { userProperties } : {}),
      },
    });
    return andThen(r, (res): R[] => {
      if (res.result === 'ok' || res.result === 'dropped') return this.receipt(f);
      if (res.result === 'denied')
        return this.fatal(`Insufficient permissions for ${topic}`, f, 'not_authorized');
      return this.fatal(`Invalid destination ${topic}: ${res.message}`, f, 'protocol_error');
    });
  }

  // ---------------------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE

  private subscribe(f: StompFrame): Replies<StompFrame> {
    const topic = header(f, 'destination');
    if (topic === undefined || topic === '')
      return this.fatal('Missing destination header', f, 'protocol_error');
    // STOMP 1.0 makes `id` optional (the destination then names the subscription); 1.1 and 1.2 require it.
    const id = header(f, 'id') ?? (this.version === '1.0' ? topic : undefined);
    if (id === undefined) return this.fatal('Missing id header', f, 'protocol_error');
    const ack = header(f, 'ack') ?? 'auto';
    if (ack !== 'auto' && ack !== 'client' && ack !== 'client-individual')
      return this.fatal(`Bad ack mode ${ack}`, f, 'protocol_error');
    const conflict = this.conflict(id, topic);
    if (conflict !== undefined) return this.fatal(conflict, f, 'protocol_error');
    return andThen(this.addSub(id, topic, ack, 0), (r): R[] => {
      if (r.ok) return this.receipt(f);
      if (r.denied) return this.fatal(`Insufficient permissions for ${topic}`, f, 'not_authorized');
      return this.fatal(r.message, f, 'protocol_error');
    });
  }

  /** Why id/topic cannot be subscribed (EMQX's texts), or undefined. */
  private conflict(id: string, topic: string): string | undefined {
    if (this.subs.has(id)) return `Subscription id ${id} is in used`;
    for (const s of this.subs.values()) if (s.topic === topic) return `Topic ${topic} already in subscribed`;
    return undefined;
  }

  private addSub(
    id: string,
    topic: string,
    ack: AckMode,
    qos: 0 | 1 | 2,
  ):
    | { ok: true; topic: string; opts: SubOpts }
    | { ok: false; denied: boolean; message: string }
    | Promise<{ ok: true; topic: string; opts: SubOpts } | { ok: false; denied: boolean; message: string }> {
    const opts: SubOpts = { qos, nl: 0, rap: 0, rh: 0 };
    const sub: Subscription = { id, topic, ack, opts };
    // Registered before the session subscribes: a retained message is delivered during that call.
    this.subs.set(id, sub);
    this.byOpts.set(opts, sub);
    return andThen(this.ctx.subscribe(topic, opts), (r) => {
      if (r.result === 'ok') return { ok: true as const, topic: r.topic, opts };
      this.subs.delete(id);
      this.byOpts.delete(opts);
      return {
        ok: false as const,
        denied: r.result === 'denied',
        message: `Subscribe ${topic} failed: ${r.message}`,
      };
    });
  }

  private unsubscribe(f: StompFrame): Replies<StompFrame> {
    const id = header(f, 'id') ?? header(f, 'destination');
    const sub = id === undefined ? undefined : this.subs.get(id);
    if (sub === undefined) return this.receipt(f);
    this.removeSub(sub);
    return andThen(this.ctx.unsubscribe(sub.topic), () => this.receipt(f));
  }

  private removeSub(sub: Subscription): void {
    this.subs.delete(sub.id);
    this.byOpts.delete(sub.opts);
  }

  // ---------------------------------------------------------------- transactions

  /** Queues a SEND/ACK/NACK of a transaction; undefined when the frame has none. */
  private inTransaction(f: StompFrame): R[] | undefined {
    const tx = header(f, 'transaction');
    if (tx === undefined) return undefined;
    const t = this.transactions.get(tx);
    if (t === undefined) return this.error(`Transaction ${tx} not found`, f);
    if (this.txFrames >= MAX_TX_FRAMES || this.txBytes + f.body.length > MAX_TX_BYTES) {
      this.ctx.log.info({ transaction: tx }, 'stomp: transactions hold too much; closing');
      return this.fatal('Transaction too large', f, 'transaction_too_large');
    }
    this.txFrames++;
    this.txBytes += f.body.length;
    t.frames.push(f);
    return this.receipt(f);
  }

  private begin(f: StompFrame): R[] {
    const tx = header(f, 'transaction');
    if (tx === undefined) return this.error('Missing transaction header', f);
    if (this.transactions.has(tx)) return this.error(`Transaction ${tx} already started`, f);
    this.transactions.set(tx, { startedAt: Date.now(), frames: [] });
    const out = this.receipt(f);
    if (this.transactions.size === 1)
      out.push({ type: 'timer', name: 'tx_sweep', ms: this.ctx.config.transaction_timeout });
    return out;
  }

  private commit(f: StompFrame): Replies<StompFrame> {
    const tx = header(f, 'transaction');
    const t = tx === undefined ? undefined : this.transactions.get(tx);
    if (t === undefined) return this.error(`Transaction ${tx ?? ''} not found`, f);
    this.dropTransaction(tx!, t);
    return this.runAll(t.frames, 0, [], f);
  }

  /** Executes a committed transaction's frames in order (a SEND may answer asynchronously). */
  private runAll(frames: StompFrame[], i: number, acc: R[], commit: StompFrame): Replies<StompFrame> {
    for (; i < frames.length; i++) {
      const fr = frames[i]!;
      const r = fr.command === 'SEND' ? this.send(withoutReceipt(fr)) : [];
      if (r instanceof Promise) {
        const next = i + 1;
        return r.then((out) => {
          acc.push(...out);
          if (out.some((x) => x.type === 'close')) return acc;
          return this.runAll(frames, next, acc, commit);
        });
      }
      acc.push(...r);
      if (r.some((x) => x.type === 'close')) return acc;
    }
    acc.push(...this.receipt(commit));
    return acc;
  }

  private abort(f: StompFrame): R[] {
    const tx = header(f, 'transaction');
    const t = tx === undefined ? undefined : this.transactions.get(tx);
    if (t === undefined) return this.error(`Transaction ${tx ?? ''} not found`, f);
    this.dropTransaction(tx!, t);
    return this.receipt(f);
  }

  private dropTransaction(id: string, t: Transaction): void {
    this.transactions.delete(id);
    this.txFrames -= t.frames.length;
    for (const fr of t.frames) this.txBytes -= fr.body.length;
  }

  /**
   * Aborts transactions open longer than transaction_timeout. [Q] EMQX 5.8.9's sweep keeps the old ones
   * and drops the young ones (its filter is inverted); the documented intent, followed here, is the reverse.
   */
  private sweepTransactions(): R[] {
    const timeout = this.ctx.config.transaction_timeout;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, t] of this.transactions) {
      if (now - t.startedAt >= timeout) {
        this.dropTransaction(id, t);
        this.ctx.log.info(
          { transaction: id, clientid: this.ctx.clientInfo?.clientid },
          'stomp: transaction timed out; aborted',
        );
      } else next = Math.min(next, t.startedAt + timeout - now);
    }
    return Number.isFinite(next) ? [{ type: 'timer', name: 'tx_sweep', ms: Math.max(1, next) }] : [];
  }

  // ---------------------------------------------------------------- delivery

  handleDeliver(d: Delivery): Reply<StompFrame>[] | undefined {
    if (this.state !== 'connected') return undefined;
    const sub = this.byOpts.get(d.opts) ?? this.matchSub(d.msg.topic);
    if (sub === undefined) return undefined;
    const h: Record<string, string | undefined> = {
      subscription: sub.id,
      'message-id': String(++this.messageSeq),
      destination: d.topic,
      'content-type': d.msg.props?.contentType ?? 'text/plain',
      ack: sub.ack === 'auto' ? undefined : String(++this.ackSeq),
    };
    const pass = d.msg.headers.stomp_headers;
    if (Array.isArray(pass)) for (const [k, v] of pass as Array<[string, string]>) h[k] = v;
    return [{ type: 'send', frame: frame('MESSAGE', h, d.msg.payload) }];
  }

  /** The subscription a message came through when the session handed back other options (shared subscriptions). */
  private matchSub(mountedTopic: string): Subscription | undefined {
    for (const s of this.subs.values()) {
      const p = parseSubscriptionTopic(s.topic);
      if (typeof p !== 'string' && topicMatches(this.ctx.mount(p.filter), mountedTopic)) return s;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- API calls

  handleCall(call: ChannelCall): CallAnswer<StompFrame> | Promise<CallAnswer<StompFrame>> {
    return andThen(this.call(call), (result) => ({ result, replies: [] }));
  }

  private call(call: ChannelCall): CallResult | Promise<CallResult> {
    if (this.state !== 'connected') return { ok: false, status: 404, message: 'client process not found' };
    if (call.type === 'command') return { ok: false, status: 400, message: `Unknown command ${call.name}` };
    if (call.type === 'unsubscribe') {
      const sub = [...this.subs.values()].find((s) => s.topic === call.topic);
      if (sub === undefined) return { ok: false, status: 404, message: 'Subscription not found' };
      this.removeSub(sub);
      return andThen(this.ctx.unsubscribe(sub.topic), () => ({
        ok: true as const,
        topic: call.topic,
        opts: sub.opts,
      }));
    }
    const subid = call.subProps.subid;
    if (subid === undefined || subid === null || subid === '')
      return { ok: false, status: 400, message: 'Miss subid in sub_props' };
    const id = String(subid);
    const conflict = this.conflict(id, call.topic);
    if (conflict !== undefined) return { ok: false, status: 400, message: conflict };
    return andThen(
      this.addSub(id, call.topic, 'auto', call.opts.qos),
      (r): CallResult => (r.ok ? r : { ok: false, status: 400, message: r.message }),
    );
  }

  // ---------------------------------------------------------------- replies

  private receipt(f: StompFrame): R[] {
    const id = header(f, 'receipt');
    return id === undefined ? [] : [{ type: 'send', frame: frame('RECEIPT', { 'receipt-id': id }) }];
  }

  /** An ERROR that leaves the connection open (transaction mistakes). */
  private error(text: string, cause: StompFrame): R[] {
    return [{ type: 'send', frame: errorFrame(text, cause) }];
  }

  /** An ERROR, then close: the STOMP spec requires the server to close after most errors. */
  private fatal(text: string, cause: StompFrame, reason: string): R[] {
    return [...this.error(text, cause), ...this.close(reason)];
  }

  private close(reason: string): R[] {
    this.state = 'closed';
    return [{ type: 'close', reason }];
  }
}

/** The best version both sides speak: no accept-version means 1.0. */
function negotiate(accept: string | undefined): (typeof VERSIONS)[number] | undefined {
  if (accept === undefined) return '1.0';
  const offered = new Set(accept.split(',').map((v) => v.trim()));
  return VERSIONS.find((v) => offered.has(v));
}

function withoutReceipt(f: StompFrame): StompFrame {
  return { ...f, headers: f.headers.filter(([k]) => k !== 'receipt' && k !== 'transaction') };
}
