/**
 * One LwM2M device: the CoAP server side of the registration interface (Register, Update, De-register,
 * lifetime) and the CoAP client side of device management (one Confirmable request in flight, token
 * matching, separate responses, Observe notifications), between the device and EMQX's JSON topics.
 * The CoAP message layer (codec, message ids, de-duplication, retransmission) is the CoAP gateway's.
 */
import { randomBytes } from 'node:crypto';
import type { KickReason } from '../../broker/client-registry.js';
import type { QoS } from '../../broker/types.js';
import { Block1Assembler, block1Step, decodeBlock, encodeBlock } from '../coap/block.js';
import { Exchanges } from '../coap/exchange.js';
import {
  type CoapMessage,
  type CoapOption,
  emptyMessage,
  isResponse,
  methodOf,
  Opt,
  option,
  readUint,
  refusalReset,
  uintValue,
  uriPath,
  uriQuery,
} from '../coap/message.js';
import { andThen } from '../maybe-async.js';
import type {
  CallAnswer,
  ChannelCall,
  ChannelContext,
  Delivery,
  FrameError,
  GatewayChannel,
  Replies,
  Reply,
} from '../types.js';
import { type Command, type CommandError, type OutRequest, readCommand, toRequest } from './commands.js';
import type { DataLayer } from './data.js';
import { type Json, parseObject, sortedJson } from './json.js';
import { autoObservePaths, isQueueMode, type RegInfo, readRegister, readUpdate } from './registration.js';
import { answerJson, type Outcome, outcomeJson, outcomeOf, refusalJson } from './responses.js';
import type { Lwm2mConfig, TranslatorName } from './schema.js';

type R = Reply<CoapMessage>;
type Obj = { [key: string]: Json | undefined };

/** A request sent to the device for a command. */
interface Sent {
  cmd: Command;
  token: Buffer;
  /** The request as first sent (a Block2 follow-up repeats it with the next block number). */
  frame: CoapMessage;
  /** Blocks of a Block2 response received so far. */
  blocks?: Buffer[];
}

/** A command waiting for its turn; `expiresAt` 0 = never (MQTT Message Expiry otherwise). */
interface Queued {
  cmd: Command;
  req: OutRequest;
  expiresAt: number;
}

/** A command as it arrived: an MQTT payload (JSON text) or an object from the API. */
interface Incoming {
  payload?: Buffer;
  object?: { [key: string]: Json };
  expiresAt: number;
}

/** The registration of the device on this connection. */
interface Registered {
  ep: string;
  version: string;
  info: RegInfo;
}

const EMPTY = Buffer.alloc(0);
/** How long a separate response is awaited after its empty ACK (RFC 7252 EXCHANGE_LIFETIME). */
const SEPARATE_WAIT_MS = 247_000;
/** Largest registration payload (object list) reassembled from Block1 blocks. */
const MAX_BLOCK1_BODY = 64 * 1024;
/** Largest response body reassembled from Block2 blocks. */
const MAX_BLOCK2_BODY = 1024 * 1024;
/** Command outcomes kept for the lookup API (EMQX keeps 100). */
const MAX_RECORDS = 100;

/** The channel of one LwM2M device (one UDP peer address). */
export class Lwm2mChannel implements GatewayChannel<CoapMessage> {
  private readonly ex = new Exchanges<Sent>();
  private readonly block1 = new Block1Assembler(MAX_BLOCK1_BODY, 1);
  private reg: Registered | undefined;
  private lastHeard = Date.now();
  private readonly inbox: Incoming[] = [];
  private readonly queue: Queued[] = [];
  /** The command whose acknowledgement is awaited: the next one goes out after it. */
  private waiting: Sent | undefined;
  /** Commands acknowledged by an empty ACK, whose separate response comes later, by token. */
  private readonly separate = new Map<string, Sent>();
  /** Observations the device accepted, by token. */
  private readonly observations = new Map<string, Sent>();
  /** Last outcome per path and msgType (undefined: sent, no answer yet), oldest first. */
  private readonly records = new Map<string, Outcome | undefined>();

  constructor(
    private readonly ctx: ChannelContext<Lwm2mConfig>,
    private readonly data: DataLayer,
  ) {}

  // ---------------------------------------------------------------- message layer

  handleIn(m: CoapMessage): Replies<CoapMessage> {
    this.lastHeard = Date.now();
    if (m.type === 'ACK' || m.type === 'RST') return this.settled(m);
    if (m.code === '0.00') return this.unexpected(m);
    // A message id seen before: the answer it got goes again, nothing is done twice (RFC 7252 §4.5).
    const dup = this.ex.duplicate(m.messageId);
    if (dup !== undefined) {
      this.ctx.metrics.inc('packets.dropped');
      return sendAll(dup.reply);
    }
    if (isResponse(m)) return this.deviceResponse(m);
    if (!m.code.startsWith('0.')) return this.unexpected(m);
    const b1 = option(m, Opt.Block1);
    return b1 === undefined ? this.request(m) : this.requestBlock(m, b1);
  }

  /** A Register or Update whose object list comes in Block1 blocks (RFC 7959 §2.5): reassembled first. */
  private requestBlock(m: CoapMessage, value: Buffer): Replies<CoapMessage> {
    const step = block1Step(this.block1, m, value, MAX_BLOCK1_BODY);
    if ('body' in step) return this.request({ ...m, payload: step.body });
    if (step.code === '2.31') return [this.respond(m, step.code, undefined, step.options)];
    this.ctx.metrics.inc('packets.dropped');
    return [this.respond(m, step.code, step.text, step.options)];
  }

  handleFrameError(err: FrameError): Replies<CoapMessage> {
    this.ctx.log.debug({ reason: err.reason }, err.message);
    return refusalReset(err).map((frame) => ({ type: 'send', frame }));
  }

  /** A message nobody expects: a CON is rejected with a Reset, anything else dropped (both counted). */
  private unexpected(m: CoapMessage): R[] {
    this.ctx.metrics.inc('packets.dropped');
    return m.type === 'CON' ? [{ type: 'send', frame: emptyMessage('RST', m.messageId) }] : [];
  }

  /** Answers a request of the device: piggy-backed on the ACK of a CON, a NON for a NON. */
  private respond(req: CoapMessage, code: string, text?: string, options: CoapOption[] = []): R {
    const frame: CoapMessage = {
      type: req.type === 'CON' ? 'ACK' : 'NON',
      code,
      messageId: req.type === 'CON' ? req.messageId : this.ex.newMessageId(),
      token: req.token,
      options,
      payload: text === undefined ? EMPTY : Buffer.from(text, 'utf8'),
    };
    this.ex.answered(req.messageId, frame);
    return { type: 'send', frame };
  }

  /** A client error answered to the device, counted. */
  private refuse(req: CoapMessage, code: string, text: string): R[] {
    this.ctx.metrics.inc('packets.dropped');
    this.ctx.log.debug({ code, reason: text }, 'lwm2m request refused');
    return [this.respond(req, code, text)];
  }

  // ---------------------------------------------------------------- registration interface

  private request(m: CoapMessage): Replies<CoapMessage> {
    const path = uriPath(m);
    if (path[0] !== 'rd') return this.refuse(m, '4.04', 'Not Found');
    const method = methodOf(m.code);
    if (path.length === 1 && method === 'POST') return this.register(m);
    if (path.length === 2 && (method === 'POST' || method === 'DELETE')) {
      if (this.reg === undefined || path[1] !== this.reg.ep)
        return this.refuse(m, '4.04', 'Not Found: unknown registration');
      return method === 'POST' ? this.update(m, 'update') : this.deregister(m);
    }
    return this.refuse(m, '4.05', 'Method Not Allowed');
  }

  private register(m: CoapMessage): Replies<CoapMessage> {
    const query = uriQuery(m);
    const r = readRegister(query, m.payload, this.data.parseLinks);
    if (typeof r === 'string') return this.refuse(m, '4.00', r);
    if (this.reg !== undefined) {
      // A registration again from the same device acts as an update reported as a registration.
      if (r.ep !== this.reg.ep) return this.refuse(m, '4.00', 'another endpoint is registered here');
      return this.update(m, 'register');
    }
    const lifetime = this.lifetimeSeconds(r.lt);
    return andThen(
      this.ctx.login({
        clientid: query.get('device_id') ?? r.ep,
        username: query.get('imei') ?? r.ep,
        password: query.get('password'),
        packet: { query: Object.fromEntries(query) },
        proto_name: 'LwM2M',
        proto_ver: r.version,
        keepalive: lifetime,
        clean_start: true,
        expiry_interval: 0,
        extra: { endpoint_name: r.ep, lifetime },
      }),
      (res): R[] => {
        if (!res.ok) {
          this.ctx.metrics.inc('packets.dropped');
          return [
            this.respond(m, '4.00', `Login Failed: ${res.message}`),
            { type: 'close', reason: res.reason },
          ];
        }
        this.reg = { ep: r.ep, version: r.version, info: r.info };
        this.setExtras();
        return [
          this.respond(m, '2.01', undefined, locationOf(r.ep)),
          { type: 'connected' },
          this.lifetimeTimer(),
          // Subscribing and reporting wait for the session the `connected` reply attaches.
          { type: 'timer', name: 'registered', ms: 0 },
        ];
      },
    );
  }

  /** After login: subscribe to the command topic, report the registration, observe, send what waits. */
  private registered(): Replies<CoapMessage> {
    const t = this.ctx.config.translators.command;
    return andThen(this.ctx.subscribe(t.topic, { qos: t.qos as QoS, nl: 0, rap: 0, rh: 0 }), (s) => {
      if (s.result !== 'ok')
        this.ctx.log.warn({ topic: t.topic, reason: s.message }, 'command topic refused');
      this.report('register');
      this.autoObserve();
      return this.trySend();
    });
  }

  private update(m: CoapMessage, kind: 'update' | 'register'): R[] {
    const reg = this.reg!;
    const u = readUpdate(uriQuery(m), m.payload, this.data.parseLinks);
    if (typeof u === 'string') return this.refuse(m, '4.00', u);
    reg.info = { ...reg.info, ...u };
    this.setExtras();
    const always = this.ctx.config.update_msg_publish_condition === 'always';
    if (kind === 'register' || always || u.objectList !== undefined) this.report(kind);
    return [
      this.respond(
        m,
        kind === 'register' ? '2.01' : '2.04',
        undefined,
        kind === 'register' ? locationOf(reg.ep) : [],
      ),
      this.lifetimeTimer(),
      // The device is awake: queued commands go now.
      ...this.trySend(),
    ];
  }

  private deregister(m: CoapMessage): R[] {
    return [this.respond(m, '2.02'), { type: 'close', reason: 'normal' }];
  }

  private report(kind: 'register' | 'update'): void {
    this.uplink(kind, { msgType: kind, data: this.reg!.info });
  }

  /** Lifetime in seconds: 0 means lifetime_max; otherwise kept within lifetime_min…lifetime_max. */
  private lifetimeSeconds(lt: number): number {
    const c = this.ctx.config;
    if (lt === 0) return Math.round(c.lifetime_max / 1000);
    return Math.min(Math.max(lt, c.lifetime_min / 1000), c.lifetime_max / 1000);
  }

  private lifetimeTimer(): R {
    const lt = this.reg?.info.lt;
    const s = this.lifetimeSeconds(typeof lt === 'number' ? lt : 0);
    return { type: 'timer', name: 'lifetime', ms: s * 1000 };
  }

  /** The LwM2M facts the clients API shows: lifetime (also as keepalive), binding, object list. */
  private setExtras(): void {
    const ci = this.ctx.clientInfo;
    const reg = this.reg;
    if (ci === undefined || reg === undefined) return;
    const lt = typeof reg.info.lt === 'number' ? reg.info.lt : 0;
    const lifetime = this.lifetimeSeconds(lt);
    ci.lifetime = lifetime;
    ci.binding = typeof reg.info.b === 'string' ? reg.info.b : 'U';
    ci.object_list = reg.info.objectList ?? [];
    this.ctx.setKeepalive(lifetime);
  }

  private autoObserve(): void {
    const list = this.reg?.info.objectList;
    if (!Array.isArray(list)) return;
    const registry = this.data.registry;
    const paths = autoObservePaths(
      this.ctx.config.auto_observe,
      list.filter((p): p is string => typeof p === 'string'),
    );
    for (const path of paths) {
      // Only objects with a definition: their notifications could not be decoded otherwise.
      if (registry.get(Number(path.split('/')[1])) === undefined) continue;
      const raw = { msgType: 'observe', data: { path }, is_auto_observe: true };
      this.inbox.push({ object: raw, expiresAt: 0 });
    }
    this.takeInbox();
  }

  // ---------------------------------------------------------------- commands

  handleDeliver(d: Delivery): R[] | undefined {
    this.inbox.push({ payload: d.msg.payload, expiresAt: d.msg.expiresAt });
    const out: R[] = [{ type: 'timer', name: 'pump', ms: 0 }];
    // A command is accepted once read: the session's QoS 1/2 window is released right away.
    if (d.packetId !== 0)
      out.push({ type: 'timer', name: 'ack', key: d.packetId, ms: 0, data: { id: d.packetId, qos: d.qos } });
    return out;
  }

  /**
   * Reads what arrived into the queue, each command already turned into its request; one that cannot be
   * read or encoded is answered with 4.00 at once, in arrival order.
   */
  private takeInbox(): void {
    const reg = this.reg;
    if (reg === undefined) return;
    const alternatePath = typeof reg.info.alternatePath === 'string' ? reg.info.alternatePath : '/';
    const rc = { codec: this.data.codec, alternatePath, lwm2mVersion: reg.version };
    for (const item of this.inbox.splice(0)) {
      const obj = item.object ?? parseObject(item.payload ?? EMPTY);
      const cmd = typeof obj === 'string' ? { error: obj } : readCommand(obj);
      if ('error' in cmd) {
        this.refused(cmd);
        continue;
      }
      this.record(cmd.reqPath, cmd.msgType, undefined);
      const req = toRequest(cmd, rc);
      if ('error' in req) this.refused(req);
      else this.queue.push({ cmd, req, expiresAt: item.expiresAt });
    }
  }

  private refused(e: CommandError): void {
    this.ctx.metrics.inc('messages.dropped');
    this.ctx.log.info({ reason: e.error }, 'lwm2m command refused');
    if (e.msgType !== undefined && e.reqPath !== undefined)
      this.record(e.reqPath, e.msgType, { code: '4.00', codeMsg: 'bad_request' });
    this.uplink('response', refusalJson(e));
  }

  /** True while a queue-mode device sleeps: its commands wait for its next Update. */
  private asleep(): boolean {
    const reg = this.reg;
    if (reg === undefined || !isQueueMode(reg.info)) return false;
    return Date.now() - this.lastHeard >= this.ctx.config.qmode_time_window;
  }

  /** Sends the next command when none is in flight and the device listens. */
  private trySend(): R[] {
    this.takeInbox();
    if (this.waiting !== undefined || this.reg === undefined || this.asleep()) return [];
    const now = Date.now();
    for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
      if (q.expiresAt === 0 || q.expiresAt > now) return this.send(q.cmd, q.req);
      this.ctx.metrics.inc('messages.dropped');
    }
    return [];
  }

  private send(cmd: Command, req: OutRequest): R[] {
    // A cancel goes with the token of the observation it ends (RFC 7641 §3.6), else a fresh one.
    const token = (req.observe === 1 ? this.observationOf(cmd.reqPath)?.token : undefined) ?? randomBytes(4);
    const options: CoapOption[] = [
      ...(req.observe === undefined ? [] : [{ number: Opt.Observe, value: uintValue(req.observe) }]),
      ...req.path.map((s) => ({ number: Opt.UriPath, value: Buffer.from(s) })),
      ...req.options,
    ];
    const frame: CoapMessage = {
      type: 'CON',
      code: req.code,
      messageId: this.ex.newMessageId(),
      token,
      options: options.sort((a, b) => a.number - b.number),
      payload: req.payload,
    };
    return this.transmit({ cmd, token, frame }, frame);
  }

  /** Sends a Confirmable request for a command, which is then the one in flight. */
  private transmit(sent: Sent, frame: CoapMessage): R[] {
    this.waiting = sent;
    const ms = this.ex.track(frame, sent);
    return [
      { type: 'send', frame },
      { type: 'timer', name: 'retransmit', key: frame.messageId, ms, data: frame.messageId },
    ];
  }

  /**
   * A response in Block2 blocks (RFC 7959 §2.4): each block but the last asks for the next one (the
   * request again, without Observe); the last gives the whole body. Undefined while blocks are missing.
   */
  private wholeResponse(sent: Sent, m: CoapMessage, out: R[]): CoapMessage | undefined {
    const v = option(m, Opt.Block2);
    const block = v === undefined ? undefined : decodeBlock(v);
    if (block === undefined || !m.code.startsWith('2.')) return m;
    const blocks = sent.blocks ?? [];
    blocks.push(m.payload);
    const size = blocks.reduce((n, b) => n + b.length, 0);
    if (!block.more || size > MAX_BLOCK2_BODY) {
      sent.blocks = undefined;
      if (block.more) return { ...m, code: '4.13', payload: EMPTY };
      return { ...m, payload: Buffer.concat(blocks, size) };
    }
    sent.blocks = blocks;
    const options = sent.frame.options.filter((o) => o.number !== Opt.Observe && o.number !== Opt.Block2);
    options.push({
      number: Opt.Block2,
      value: encodeBlock({ num: block.num + 1, more: false, szx: block.szx }),
    });
    const next: CoapMessage = {
      ...sent.frame,
      messageId: this.ex.newMessageId(),
      options: options.sort((a, b) => a.number - b.number),
    };
    out.push(...this.transmit(sent, next));
    return undefined;
  }

  private observationOf(path: string): Sent | undefined {
    for (const o of this.observations.values()) if (o.cmd.reqPath === path) return o;
    return undefined;
  }

  /** The device acknowledged (ACK, maybe with the response) or rejected (RST) a request. */
  private settled(m: CoapMessage): R[] {
    const o = this.ex.settle(m.messageId);
    if (o === undefined) return this.unexpected(m);
    const sent = o.data;
    if (this.waiting === sent) this.waiting = undefined;
    const out: R[] = [{ type: 'cancel_timer', name: 'retransmit', key: m.messageId }];
    if (m.type === 'RST') this.uplink('response', outcomeJson(sent.cmd, 'coap_reset'));
    else if (m.code === '0.00') {
      // An empty ACK: the response follows as its own message with the same token (or never: then it
      // ends as coap_timeout once the exchange could no longer be answered).
      const key = sent.token.toString('hex');
      this.separate.set(key, sent);
      this.uplink('response', outcomeJson(sent.cmd, 'ack'));
      out.push({ type: 'timer', name: 'separate', key, ms: SEPARATE_WAIT_MS, data: key });
    } else {
      const whole = this.wholeResponse(sent, m, out);
      if (whole !== undefined) this.responded(sent, whole);
    }
    out.push(...this.trySend());
    return out;
  }

  /** A response of the device that is its own message: a separate response or a notification. */
  private deviceResponse(m: CoapMessage): R[] {
    const key = m.token.toString('hex');
    const ack: R[] = m.type === 'CON' ? [this.ackFor(m)] : [];
    const sep = this.separate.get(key);
    if (sep !== undefined) {
      this.separate.delete(key);
      const out: R[] = [...ack, { type: 'cancel_timer', name: 'separate', key }];
      const whole = this.wholeResponse(sep, m, out);
      if (whole !== undefined) this.responded(sep, whole);
      return [...out, ...this.trySend()];
    }
    const obs = this.observations.get(key);
    if (obs === undefined)
      // Nobody asked (e.g. an observation cancelled here): a Reset tells the device to stop.
      return this.unexpected(m);
    const outcome = outcomeOf(obs.cmd, m, this.data.codec);
    if (!m.code.startsWith('2.')) this.observations.delete(key);
    this.record(obs.cmd.reqPath, 'notify', outcome);
    this.uplink('notify', answerJson(obs.cmd, outcome, 'notify', observeSeq(m)));
    return ack;
  }

  private ackFor(m: CoapMessage): R {
    const frame = emptyMessage('ACK', m.messageId);
    this.ex.answered(m.messageId, frame);
    return { type: 'send', frame };
  }

  /** The response to a command: published on the response topic; an accepted Observe is remembered. */
  private responded(sent: Sent, m: CoapMessage): void {
    const cmd = sent.cmd;
    const outcome = outcomeOf(cmd, m, this.data.codec);
    const seq = observeSeq(m);
    const ok = m.code.startsWith('2.');
    if (cmd.msgType === 'observe' && ok && seq !== undefined)
      this.observations.set(sent.token.toString('hex'), sent);
    if (cmd.msgType === 'cancel-observe' && ok)
      for (const [k, o] of this.observations) if (o.cmd.reqPath === cmd.reqPath) this.observations.delete(k);
    this.record(cmd.reqPath, cmd.msgType, outcome);
    this.uplink('response', answerJson(cmd, outcome, cmd.msgType, seq === 0 ? undefined : seq));
  }

  private record(path: string, msgType: string, outcome: Outcome | undefined): void {
    const key = `${path}\n${msgType}`;
    this.records.delete(key);
    this.records.set(key, outcome);
    if (this.records.size > MAX_RECORDS) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  /** Publishes on a translator topic (mounted, authorized); a refusal is logged, never fatal. */
  private uplink(name: TranslatorName, obj: Obj): void {
    const t = this.ctx.config.translators[name];
    const r = this.ctx.publish({
      topic: t.topic,
      payload: Buffer.from(sortedJson(obj as Json)),
      qos: t.qos as QoS,
      retain: false,
    });
    const check = (res: Awaited<typeof r>): void => {
      if (res.result !== 'ok')
        this.ctx.log.info({ topic: t.topic, result: res.result }, 'lwm2m uplink not published');
    };
    if (r instanceof Promise)
      r.then(check, (err: unknown) => this.ctx.log.warn({ err }, 'lwm2m uplink failed'));
    else check(r);
  }

  // ---------------------------------------------------------------- timers, calls, close

  handleTimeout(name: string, data: unknown): Replies<CoapMessage> {
    switch (name) {
      case 'retransmit':
        return this.retransmit(data as number);
      case 'pump':
        return this.trySend();
      case 'registered':
        return this.registered();
      case 'ack': {
        const a = data as { id: number; qos: QoS };
        if (a.qos === 1) this.ctx.acked(a.id);
        else {
          this.ctx.received(a.id);
          this.ctx.completed(a.id);
        }
        return [];
      }
      case 'separate': {
        const sent = this.separate.get(data as string);
        if (sent === undefined) return [];
        this.separate.delete(data as string);
        this.uplink('response', outcomeJson(sent.cmd, 'coap_timeout'));
        return [];
      }
      case 'lifetime':
        this.ctx.metrics.inc('client.keepalive_timeout');
        return [{ type: 'close', reason: 'lifetime_expired' }];
      default:
        return [];
    }
  }

  private retransmit(messageId: number): R[] {
    const t = this.ex.timeout(messageId);
    if (t === undefined) return [];
    if ('resend' in t)
      return [
        { type: 'send', frame: t.resend.msg },
        { type: 'timer', name: 'retransmit', key: messageId, ms: t.resend.timeoutMs, data: messageId },
      ];
    const sent = t.gaveUp.data;
    if (this.waiting === sent) this.waiting = undefined;
    this.uplink('response', outcomeJson(sent.cmd, 'coap_timeout'));
    return this.trySend();
  }

  /** The LwM2M API's commands; subscriptions through the clients API are the framework's. */
  handleCall(call: ChannelCall): CallAnswer<CoapMessage> | undefined {
    return call.type === 'command' ? this.command(call.name, call.data) : undefined;
  }

  /** The LwM2M API: `send` a command object, `lookup` the last outcome of a path and action. */
  private command(name: string, data: unknown): CallAnswer<CoapMessage> {
    if (name === 'send') {
      this.inbox.push({ object: data as { [key: string]: Json }, expiresAt: 0 });
      return { result: { ok: true }, replies: [{ type: 'timer', name: 'pump', ms: 0 }] };
    }
    if (name === 'lookup') {
      const { path, action } = data as { path: string; action: string };
      const key = `${path}\n${action}`;
      return { result: { ok: true, data: this.records.get(key) }, replies: [] };
    }
    return { result: { ok: false, status: 400, message: `lwm2m has no command ${name}` }, replies: [] };
  }

  handleKick(reason: KickReason): R[] {
    return [{ type: 'close', reason }];
  }

  handleClosed(): void {
    this.ex.drain();
    this.queue.length = 0;
    this.inbox.length = 0;
    this.separate.clear();
    this.observations.clear();
    this.waiting = undefined;
  }
}

/** Send replies for the frames given (none for undefined). */
function sendAll(frame: CoapMessage | undefined): R[] {
  return frame === undefined ? [] : [{ type: 'send', frame }];
}

/** Location-Path of a registration: `rd/<ep>`. */
function locationOf(ep: string): CoapOption[] {
  return [
    { number: Opt.LocationPath, value: Buffer.from('rd') },
    { number: Opt.LocationPath, value: Buffer.from(ep) },
  ];
}

/** The Observe option value of a response, if any. */
function observeSeq(m: CoapMessage): number | undefined {
  const v = option(m, Opt.Observe);
  return v === undefined ? undefined : readUint(v);
}
