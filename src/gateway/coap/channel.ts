/**
 * One CoAP peer: the RFC 7252 message layer (piggy-backed and separate responses, de-duplication, CON
 * retransmission, Reset), block-wise transfers (RFC 7959), Observe (RFC 7641), and EMQX's resources:
 * `/mqtt/connection` (connection mode), `/ps/{topic}` (publish by POST, subscribe/unsubscribe by Observe),
 * and the EMQX 3.x form publish on `/mqtt`.
 */
import { randomInt } from 'node:crypto';
import type { KickReason } from '../../broker/client-registry.js';
import { topicMatches } from '../../broker/topic.js';
import type { QoS, SubOpts } from '../../broker/types.js';
import { TokenBucket } from '../../transport/rate-limiter.js';
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
import {
  type Block,
  Block1Assembler,
  block1Step,
  blockSize,
  decodeBlock,
  encodeBlock,
  MAX_SZX,
  sliceBlock,
} from './block.js';
import { Exchanges } from './exchange.js';
import {
  type CoapMessage,
  type CoapOption,
  type CoapType,
  emptyMessage,
  isResponse,
  methodOf,
  Opt,
  option,
  readUint,
  refusalReset,
  uintValue,
  unknownCriticalOption,
  uriPath,
  uriQuery,
} from './message.js';
import { flag, formFields, requestParams, requestQos, topicOf } from './query.js';
import type { CoapConfig } from './schema.js';

type R = Reply<CoapMessage>;

/** A response before the message layer wraps it (ACK, NON or separate CON). */
interface Response {
  code: string;
  payload?: Buffer;
  options?: CoapOption[];
}

/** What a CON notification in flight stands for. */
interface Notification {
  packetId: number;
  qos: QoS;
  topic: string;
}

/** An Observe registration: a subscription whose messages go to one token. */
interface Observation {
  topic: string;
  token: Buffer;
  seq: number;
  opts: SubOpts;
  /** Block size the client asked for (Block2 in its GET), else 1024. */
  szx: number;
}

const EMPTY = Buffer.alloc(0);
/** Observe sequence numbers are 24 bits (RFC 7641 §4.4); after the largest they start again at 1. */
const MAX_OBSERVE_SEQ = 0xffffff;
/** Largest request body reassembled from Block1 blocks. */
const MAX_BLOCK1_BODY = 1024 * 1024;
/** Requests a peer may send per second (burst the same): a flood from one address is dropped early. */
const PEER_REQUEST_RATE = 1000;
/** A response taking longer than this goes out as a separate response (RFC 7252 §5.2.2). */
const SEPARATE_AFTER_MS = 1000;

const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const reply = (code: string, payload?: string): Response => ({
  code,
  payload: payload === undefined ? undefined : text(payload),
});
const BAD_CONNECTION = 'Missing token or clientid in connection mode';

/** The channel of one CoAP peer address. */
export class CoapChannel implements GatewayChannel<CoapMessage> {
  private readonly ex = new Exchanges<Notification>();
  private readonly block1 = new Block1Assembler(MAX_BLOCK1_BODY);
  private readonly bucket = new TokenBucket(PEER_REQUEST_RATE);
  private readonly observations = new Map<string, Observation>();
  private readonly byOpts = new Map<SubOpts, Observation>();
  /** Bodies of the latest notifications too large for one datagram, by topic (for Block2 follow-ups). */
  private readonly blockBodies = new Map<string, Buffer>();
  private loggedIn = false;
  /** Set in connection mode: what every later request must carry. */
  private token: string | undefined;
  private lastRequest = Date.now();
  private keepaliveArmed = false;
  /** Deliveries are held until the current request's answer has gone out (see `observe`). */
  private releaseAfterAnswer = false;
  /** First requests waiting for the session to be attached, by message id. */
  private readonly deferred = new Map<number, () => Replies<CoapMessage>>();
  /** The next notification goes out Confirmable to learn whether a quiet observer is still there. */
  private probe = false;

  constructor(private readonly ctx: ChannelContext<CoapConfig>) {}

  // ---------------------------------------------------------------- message layer

  handleIn(m: CoapMessage): Replies<CoapMessage> {
    if (m.type === 'ACK' || m.type === 'RST') return this.settled(m);
    if (m.code === '0.00')
      // An empty CON is a ping (RFC 7252 §4.3): answered with Reset. An empty NON means nothing.
      return m.type === 'CON' ? [this.reset(m.messageId)] : this.dropped();
    // A response nobody asked for is rejected (the server sends no requests that could be answered).
    if (isResponse(m) || !m.code.startsWith('0.'))
      return m.type === 'CON' ? [this.reset(m.messageId)] : this.dropped();
    const dup = this.ex.duplicate(m.messageId);
    if (dup !== undefined) {
      this.ctx.metrics.inc('packets.dropped');
      return dup.reply === undefined ? [] : [{ type: 'send', frame: dup.reply }];
    }
    if (!this.bucket.take()) return this.dropped();
    this.lastRequest = Date.now();
    const critical = unknownCriticalOption(m);
    if (critical !== undefined)
      return m.type === 'CON'
        ? this.respond(m, reply('4.02', `Unrecognized critical option ${critical}`))
        : this.dropped();
    if (option(m, Opt.ProxyUri) !== undefined || option(m, Opt.ProxyScheme) !== undefined)
      return this.respond(m, reply('5.05'));
    const b1 = option(m, Opt.Block1);
    if (b1 === undefined) return this.request(m, undefined);
    const step = block1Step(this.block1, m, b1, MAX_BLOCK1_BODY);
    if ('body' in step) return this.request({ ...m, payload: step.body }, step.echo);
    return this.respond(m, { ...reply(step.code, step.text), options: step.options });
  }

  /** An ACK or RST from the peer: it settles a CON notification (or nothing). */
  private settled(m: CoapMessage): R[] {
    const o = this.ex.settle(m.messageId);
    if (o === undefined) return this.dropped();
    const out: R[] = [{ type: 'cancel_timer', name: 'retransmit', key: m.messageId }];
    this.ackDelivery(o.data);
    // A Reset to a notification cancels the observation (RFC 7641 §3.6).
    if (m.type === 'RST') out.push(...this.cancelObservation(o.data.topic));
    return out;
  }

  private ackDelivery(n: Notification): void {
    if (n.packetId === 0) return;
    if (n.qos === 1) this.ctx.acked(n.packetId);
    else if (n.qos === 2) {
      this.ctx.received(n.packetId);
      this.ctx.completed(n.packetId);
    }
  }

  handleFrameError(err: FrameError): Replies<CoapMessage> {
    this.ctx.log.debug({ reason: err.reason }, err.message);
    return refusalReset(err).map((frame) => ({ type: 'send', frame }));
  }

  private reset(messageId: number): R {
    return { type: 'send', frame: emptyMessage('RST', messageId) };
  }

  private dropped(): R[] {
    this.ctx.metrics.inc('packets.dropped');
    return [];
  }

  /**
   * Wraps a response for its request: piggy-backed on the ACK of a CON, a NON for a NON, or, when the
   * answer took long, an empty ACK and a separate CON response. Remembered for duplicates.
   */
  private respond(req: CoapMessage, res: Response, startedAt?: number): R[] {
    const base = {
      code: res.code,
      token: req.token,
      options: res.options ?? [],
      payload: res.payload ?? EMPTY,
    };
    if (req.type === 'NON') {
      if (unwanted(req, res.code)) return [];
      const frame: CoapMessage = { ...base, type: 'NON', messageId: this.ex.newMessageId() };
      this.ex.answered(req.messageId, frame);
      return [{ type: 'send', frame }];
    }
    if (startedAt !== undefined && Date.now() - startedAt > SEPARATE_AFTER_MS) {
      const ack: CoapMessage = {
        type: 'ACK',
        code: '0.00',
        messageId: req.messageId,
        token: EMPTY,
        options: [],
        payload: EMPTY,
      };
      this.ex.answered(req.messageId, ack);
      const frame: CoapMessage = { ...base, type: 'CON', messageId: this.ex.newMessageId() };
      return [
        { type: 'send', frame: ack },
        ...this.sendConfirmable(frame, { packetId: 0, qos: 0, topic: '' }),
      ];
    }
    const frame: CoapMessage = { ...base, type: 'ACK', messageId: req.messageId };
    this.ex.answered(req.messageId, frame);
    return [{ type: 'send', frame }];
  }

  private sendConfirmable(frame: CoapMessage, n: Notification): R[] {
    const ms = this.ex.track(frame, n);
    return [
      { type: 'send', frame },
      { type: 'timer', name: 'retransmit', key: frame.messageId, ms, data: frame.messageId },
    ];
  }

  handleTimeout(name: string, data: unknown): Replies<CoapMessage> {
    switch (name) {
      case 'retransmit': {
        const t = this.ex.timeout(data as number);
        if (t === undefined) return [];
        if ('resend' in t)
          return [
            { type: 'send', frame: t.resend.msg },
            { type: 'timer', name: 'retransmit', key: t.resend.msg.messageId, ms: t.resend.timeoutMs, data },
          ];
        // Never acknowledged: the client is gone, so its observation ends (RFC 7641 §4.5).
        const n = t.gaveUp.data;
        if (n.packetId !== 0) this.ctx.abandoned(n.packetId, n.qos);
        return n.topic === '' ? [] : this.cancelObservation(n.topic);
      }
      case 'ack':
        this.ackDelivery(data as Notification);
        return [];
      case 'keepalive':
        return this.keepalive();
      case 'release':
        this.ctx.holdDeliveries(false);
        this.ctx.flush();
        return [];
      case 'deferred': {
        const run = this.deferred.get(data as number);
        this.deferred.delete(data as number);
        return run === undefined ? [] : run();
      }
      default:
        return [];
    }
  }

  /** Closes a client quiet for 1.5 heartbeats; a connectionless one stays while it observes something. */
  private keepalive(): R[] {
    const hb = this.ctx.config.heartbeat;
    const quiet = Date.now() - this.lastRequest > hb * 1.5;
    const observing = this.token === undefined && this.observations.size > 0;
    if (quiet && !observing) {
      this.ctx.metrics.inc('client.keepalive_timeout');
      return [{ type: 'close', reason: 'keepalive_timeout' }];
    }
    // RFC 7641 §4.5: NON notifications alone never show that an observer is gone; a quiet one is probed
    // with a CON, whose give-up ends the observation (and then this channel).
    if (quiet && observing) this.probe = true;
    return [{ type: 'timer', name: 'keepalive', ms: hb }];
  }

  // ---------------------------------------------------------------- resources

  /** A whole request (after Block1 reassembly); `block1` is echoed on its final response. */
  private request(m: CoapMessage, block1: CoapOption | undefined): Replies<CoapMessage> {
    const started = Date.now();
    const path = uriPath(m);
    const params = requestParams(uriQuery(m));
    const answer = (r: Response | undefined): R[] => {
      if (r === undefined) return [];
      if (block1 !== undefined) r.options = [...(r.options ?? []), block1];
      const out = this.respond(m, this.fitBlock2(m, r), started);
      if (this.releaseAfterAnswer) {
        this.releaseAfterAnswer = false;
        out.push({ type: 'timer', name: 'release', ms: 0 });
      }
      return out;
    };
    const first = path[0];
    if (first === 'mqtt' && path.length === 2 && path[1] === 'connection')
      return this.connection(m, params, answer);
    if (first === 'ps') return this.session(m, params, answer, () => this.pubsub(m, path, params));
    // The EMQX 3.x route: a form body (qos, retain, message, topic) POSTed to /mqtt publishes it.
    if (first === 'mqtt' && path.length === 1 && methodOf(m.code) === 'POST')
      return this.session(m, params, answer, () => this.legacyPublish(m));
    return answer(reply('4.00', 'Bad Request: unknown resource'));
  }

  /** A response body larger than one block goes out block by block (RFC 7959 §2.4). */
  private fitBlock2(req: CoapMessage, r: Response): Response {
    const asked = option(req, Opt.Block2);
    const b = asked === undefined ? undefined : decodeBlock(asked);
    const szx = b === undefined ? MAX_SZX : Math.min(b.szx, MAX_SZX);
    const body = r.payload;
    if (body === undefined || (body.length <= blockSize(szx) && (b === undefined || b.num === 0))) return r;
    const slice = sliceBlock(body, b?.num ?? 0, szx);
    if (slice === undefined) return reply('4.02', 'Block out of range');
    const options = [
      ...(r.options ?? []),
      { number: Opt.Block2, value: encodeBlock({ num: b?.num ?? 0, more: slice.more, szx }) },
      { number: Opt.Size2, value: uintValue(body.length) },
    ];
    return { code: r.code, options, payload: slice.payload };
  }

  /** Logs in a connectionless peer on its first request, checks the token in connection mode, then runs `f`. */
  private session(
    m: CoapMessage,
    params: Map<string, string>,
    answer: (r: Response | undefined) => R[],
    f: () => Response | Promise<Response>,
  ): Replies<CoapMessage> {
    if (this.token !== undefined || this.ctx.config.connection_required) {
      const token = params.get('token');
      // Connection mode: a request without a token is silently dropped (EMQX).
      if (token === undefined) return this.dropped();
      const clientid = params.get('clientid');
      if (token !== this.token || (clientid !== undefined && clientid !== this.ctx.clientInfo?.clientid))
        return answer(reply('4.00', BAD_CONNECTION));
      return andThen(f(), answer);
    }
    if (this.loggedIn) return andThen(f(), answer);
    return andThen(this.login(m, params), (r): R[] => {
      if (!r.ok) return answer(loginFailed(r.message));
      // The request runs once the session is attached (the `connected` reply), so what it subscribes to
      // (retained messages included) is delivered to it: a 0 ms timer queues it behind that reply.
      this.deferred.set(m.messageId, () => andThen(f(), answer));
      return [
        { type: 'connected' },
        ...this.startKeepalive(),
        { type: 'timer', name: 'deferred', key: m.messageId, ms: 0, data: m.messageId },
      ];
    });
  }

  private login(m: CoapMessage, params: Map<string, string>): LoginResult | Promise<LoginResult> {
    const hb = this.ctx.config.heartbeat;
    return andThen(
      this.ctx.login({
        clientid: params.get('clientid') ?? '',
        username: params.get('username'),
        password: params.get('password'),
        packet: { query: Object.fromEntries(params), method: methodOf(m.code) },
        proto_name: 'CoAP',
        proto_ver: '1',
        // The clients API shows half the heartbeat as EMQX does (30s ⇒ 15).
        keepalive: Math.round(hb / 2000),
        clean_start: true,
        expiry_interval: 0,
      }),
      (r) => {
        if (r.ok) this.loggedIn = true;
        return r;
      },
    );
  }

  private startKeepalive(): R[] {
    if (this.keepaliveArmed) return [];
    this.keepaliveArmed = true;
    return [{ type: 'timer', name: 'keepalive', ms: this.ctx.config.heartbeat }];
  }

  /** `/mqtt/connection`: POST logs in (2.01 with the token), PUT is a heartbeat, DELETE closes. */
  private connection(
    m: CoapMessage,
    params: Map<string, string>,
    answer: (r: Response | undefined) => R[],
  ): Replies<CoapMessage> {
    const method = methodOf(m.code);
    if (method === 'POST') {
      if (this.loggedIn) return answer(reply('4.00', 'Bad Request: client has connected'));
      if ((params.get('clientid') ?? '') === '')
        return answer(reply('4.00', 'Bad Request: missing clientid'));
      return andThen(this.login(m, params), (r): R[] => {
        if (!r.ok) return answer(loginFailed(r.message));
        this.token = String(randomInt(0, 2 ** 32 - 1));
        return [
          { type: 'connected' },
          ...this.startKeepalive(),
          ...answer({ code: '2.01', payload: text(this.token) }),
        ];
      });
    }
    if (method !== 'PUT' && method !== 'DELETE') return answer(reply('4.05'));
    const token = params.get('token');
    if (token === undefined) return this.dropped();
    if (token !== this.token || params.get('clientid') !== this.ctx.clientInfo?.clientid)
      return answer(reply('4.00', BAD_CONNECTION));
    if (method === 'PUT') return answer({ code: '2.04' });
    return [...answer({ code: '2.02' }), { type: 'close', reason: 'normal' }];
  }

  /** `/ps/{topic}`: POST publishes; GET with Observe 0 subscribes, with Observe 1 unsubscribes. */
  private pubsub(m: CoapMessage, path: string[], params: Map<string, string>): Response | Promise<Response> {
    if (path.length < 2) return reply('4.00', 'invalid topic');
    const topic = topicOf(path.slice(1));
    switch (methodOf(m.code)) {
      case 'POST':
        return this.publish(m, topic, m.payload, params);
      case 'GET':
        return this.observe(m, topic, params);
      default:
        // EMQX documents publishing by PUT but answers 4.05 to it; Hermod does the same (only POST publishes).
        return reply('4.05');
    }
  }

  private publish(
    m: CoapMessage,
    topic: string,
    payload: Buffer,
    params: Map<string, string>,
  ): Response | Promise<Response> {
    const qos = requestQos(params.get('qos'), this.ctx.config.publish_qos, m);
    if (qos === undefined) return reply('4.00', 'invalid qos');
    const expiry = params.get('expiry');
    const props =
      expiry !== undefined && /^\d+$/.test(expiry) ? { messageExpiryInterval: Number(expiry) } : undefined;
    return andThen(
      this.ctx.publish({ topic, payload, qos, retain: flag(params.get('retain')), props }),
      (r): Response => {
        switch (r.result) {
          case 'ok':
          case 'dropped':
            return { code: '2.04' };
          case 'denied':
            return reply('4.01', 'Unauthorized');
          default:
            return reply('4.00', r.message);
        }
      },
    );
  }

  /** The EMQX 3.x form publish: `qos=0&retain=0&message=payload&topic=hello` POSTed to /mqtt. */
  private legacyPublish(m: CoapMessage): Response | Promise<Response> {
    const form = formFields(m.payload);
    const topic = form.get('topic');
    if (topic === undefined || topic === '') return reply('4.00', 'invalid topic');
    const params = new Map<string, string>();
    for (const k of ['qos', 'retain'] as const) {
      const v = form.get(k);
      if (v !== undefined) params.set(k, v);
    }
    return this.publish(m, topic, text(form.get('message') ?? ''), params);
  }

  private observe(m: CoapMessage, topic: string, params: Map<string, string>): Response | Promise<Response> {
    const ob = option(m, Opt.Observe);
    const value = ob === undefined ? undefined : readUint(ob);
    if (value === undefined) {
      // A GET for a later block of a notification too large for one datagram (RFC 7959 §3.4).
      const body = this.blockBodies.get(topic);
      if (body !== undefined && option(m, Opt.Block2) !== undefined) return { code: '2.05', payload: body };
      return reply('4.00', 'invalid observe value');
    }
    if (value === 1) {
      this.dropObservation(topic);
      return andThen(this.ctx.unsubscribe(topic), (): Response => ({ code: '2.07' }));
    }
    if (value !== 0) return reply('4.00', 'invalid observe value');
    if (m.token.length === 0) return reply('4.00', 'observe without token');
    const qos = requestQos(params.get('qos'), this.ctx.config.subscribe_qos, m);
    if (qos === undefined) return reply('4.00', 'invalid qos');
    const b2 = option(m, Opt.Block2);
    const szx = (b2 === undefined ? undefined : decodeBlock(b2))?.szx ?? MAX_SZX;
    const existing = this.observations.get(topic);
    const opts: SubOpts = {
      qos,
      nl: flag(params.get('nl')) ? 1 : 0,
      rap: 0,
      rh: Number(params.get('rh') ?? 0) === 0 ? 0 : 1,
    };
    const obs: Observation = { topic, token: m.token, seq: existing?.seq ?? 0, opts, szx };
    // Registered before subscribing so retained messages delivered during the subscribe find it; held
    // until the registration is answered, so the client sees the answer (Observe 0) before them.
    this.addObservation(obs);
    this.ctx.holdDeliveries(true);
    this.releaseAfterAnswer = true;
    return andThen(this.ctx.subscribe(topic, opts), (r): Response => {
      if (r.result === 'ok') return { code: '2.05', options: [{ number: Opt.Observe, value: uintValue(0) }] };
      this.dropObservation(topic);
      if (existing !== undefined) this.addObservation(existing);
      return r.result === 'denied' ? reply('4.01', 'Unauthorized') : reply('4.00', r.message);
    });
  }

  private addObservation(o: Observation): void {
    this.dropObservation(o.topic);
    this.observations.set(o.topic, o);
    this.byOpts.set(o.opts, o);
  }

  private dropObservation(topic: string): void {
    const o = this.observations.get(topic);
    if (o === undefined) return;
    this.observations.delete(topic);
    this.byOpts.delete(o.opts);
    this.blockBodies.delete(topic);
  }

  /** Ends an observation the client rejected or stopped answering: its subscription goes too. */
  private cancelObservation(topic: string): R[] {
    if (!this.observations.has(topic)) return [];
    this.dropObservation(topic);
    void this.ctx.unsubscribe(topic);
    return [];
  }

  // ---------------------------------------------------------------- deliveries

  handleDeliver(d: Delivery): R[] | undefined {
    // Retained messages come with a copy of the options: those are matched by topic.
    const o = this.byOpts.get(d.opts) ?? this.observationFor(d.msg.topic);
    if (o === undefined) return undefined;
    o.seq = o.seq >= MAX_OBSERVE_SEQ ? 1 : o.seq + 1;
    const nt = this.ctx.config.notify_type;
    const type: CoapType = this.probe || nt === 'con' || (nt === 'qos' && d.qos > 0) ? 'CON' : 'NON';
    this.probe = false;
    const options: CoapOption[] = [{ number: Opt.Observe, value: uintValue(o.seq) }];
    let payload = d.msg.payload;
    const bs = blockSize(o.szx);
    if (payload.length > bs) {
      this.blockBodies.set(o.topic, payload);
      options.push(
        { number: Opt.Block2, value: encodeBlock({ num: 0, more: true, szx: o.szx } satisfies Block) },
        { number: Opt.Size2, value: uintValue(payload.length) },
      );
      payload = payload.subarray(0, bs);
    }
    const frame: CoapMessage = {
      type,
      code: '2.05',
      messageId: this.ex.newMessageId(),
      token: o.token,
      options,
      payload,
    };
    const n: Notification = { packetId: d.packetId, qos: d.qos, topic: o.topic };
    if (type === 'CON') return this.sendConfirmable(frame, n);
    const out: R[] = [{ type: 'send', frame }];
    // A NON notification is never acknowledged: the session's QoS 1/2 window is released right after it.
    if (d.packetId !== 0) out.push({ type: 'timer', name: 'ack', key: d.packetId, ms: 0, data: n });
    return out;
  }

  private observationFor(mountedTopic: string): Observation | undefined {
    for (const o of this.observations.values())
      if (topicMatches(this.ctx.mount(o.topic), mountedTopic)) return o;
    return undefined;
  }

  handleKick(reason: KickReason): R[] {
    return [{ type: 'close', reason }];
  }

  handleClosed(): void {
    this.ex.drain();
    this.observations.clear();
    this.byOpts.clear();
    this.blockBodies.clear();
    this.deferred.clear();
  }
}

/**
 * EMQX 5.8 answers a failed login with 4.00 while its documentation says 4.01 Unauthorized; Hermod follows
 * the documentation (the payload text is EMQX's).
 */
function loginFailed(message: string): Response {
  return reply('4.01', `Login Failed: ${message}`);
}

/**
 * RFC 7967 No-Response: a NON request may say which response classes it does not want (bit 2 = 2.xx,
 * 8 = 4.xx, 16 = 5.xx), which spares a datagram per publish for devices that only report.
 */
function unwanted(req: CoapMessage, code: string): boolean {
  const v = option(req, Opt.NoResponse);
  if (v === undefined) return false;
  const bits = readUint(v);
  const cls = code.charCodeAt(0) - 48;
  return (bits & (1 << (cls - 1))) !== 0;
}
