/**
 * MQTT-SN REGISTER, PUBLISH (all QoS levels and topic id types), SUBSCRIBE and UNSUBSCRIBE from the
 * client, as EMQX 5.8 answers them.
 */
import { isWildcard } from '../../broker/topic.js';
import type { QoS, SubOpts } from '../../broker/types.js';
import { andThen } from '../maybe-async.js';
import type { ChannelContext, PublishResult, Replies, Reply, SubscribeResult } from '../types.js';
import { flags, RC, type SnFrame, TopicIdType } from './frame.js';
import type { MqttSnConfig } from './schema.js';
import type { TopicIdTable } from './topic-ids.js';

type R = Reply<SnFrame>;
type Of<T extends SnFrame['type']> = Extract<SnFrame, { type: T }>;

/** What these handlers need from the channel. */
export interface PubSubHost {
  readonly ctx: ChannelContext<MqttSnConfig>;
  readonly topicIds: TopicIdTable;
  /** Holds deliveries while a SUBSCRIBE is answered, so retained messages follow the SUBACK. */
  holdFor(reason: string, on: boolean): void;
}

/** Publisher id of QoS −1 messages from clients that are not connected (EMQX's). */
export const NEG_QOS_CLIENT = 'NegQoS-Client';

function puback(topicId: number, msgId: number, rc: number): R {
  return { type: 'send', frame: { type: 'PUBACK', topicId, msgId, rc } };
}

/** The 2-character name a short topic id carries. */
export function shortTopicName(id: number): string {
  return Buffer.from([id >> 8, id & 0xff]).toString('utf8');
}

/** REGISTER from the client: REGACK with the (new or existing) id, or id 0 and "not supported". */
export function register(h: PubSubHost, f: Of<'REGISTER'>): R[] {
  const id = f.topicName === '' ? 'empty_topic' : h.topicIds.register(f.topicName);
  if (typeof id === 'number')
    return [{ type: 'send', frame: { type: 'REGACK', topicId: id, msgId: f.msgId, rc: 0 } }];
  h.ctx.log.info({ topic: f.topicName, reason: id }, 'mqttsn: REGISTER refused');
  return [{ type: 'send', frame: { type: 'REGACK', topicId: 0, msgId: f.msgId, rc: RC.NOT_SUPPORTED } }];
}

/** The topic a PUBLISH names, or the PUBACK return code refusing it. */
function publishTopic(h: PubSubHost, f: Of<'PUBLISH'>): string | number {
  switch (f.flags.topicIdType) {
    case TopicIdType.NORMAL:
      return h.topicIds.lookup(f.topicId) ?? RC.INVALID_TOPIC_ID;
    case TopicIdType.PREDEFINED:
      return h.topicIds.predefined.byId.get(f.topicId) ?? RC.INVALID_TOPIC_ID;
    case TopicIdType.SHORT: {
      const name = shortTopicName(f.topicId);
      return isWildcard(name) ? RC.NOT_SUPPORTED : name;
    }
    default:
      return RC.NOT_SUPPORTED;
  }
}

/**
 * PUBLISH from a connected client. QoS −1 counts as QoS 0; QoS 1 is answered with PUBACK, QoS 2 with
 * PUBREC (a duplicate is not published again); refusals with PUBACK and a return code.
 */
export function publish(h: PubSubHost, f: Of<'PUBLISH'>): Replies<SnFrame> {
  const { ctx } = h;
  if (f.flags.qos === 3 && !ctx.config.enable_qos3) return [puback(f.topicId, f.msgId, RC.NOT_SUPPORTED)];
  const topic = publishTopic(h, f);
  if (typeof topic === 'number') return [puback(f.topicId, f.msgId, topic)];
  const qos: QoS = f.flags.qos === 3 ? 0 : f.flags.qos;
  if (qos === 2) {
    const state = ctx.awaitRelease(f.msgId);
    if (state === 'duplicate') return [{ type: 'send', frame: { type: 'PUBREC', msgId: f.msgId } }];
    if (state === 'full') return [puback(f.topicId, f.msgId, RC.CONGESTION)];
  }
  const req = { topic, payload: f.data, qos, retain: f.flags.retain, headers: { proto_ver: '1.2' } };
  return andThen(ctx.publish(req), (r: PublishResult): R[] => {
    if (r.result === 'denied' || r.result === 'invalid') {
      if (qos === 2) ctx.released(f.msgId);
      return [puback(f.topicId, f.msgId, r.result === 'denied' ? RC.NOT_AUTHORIZED : RC.NOT_SUPPORTED)];
    }
    if (qos === 1) return [puback(f.topicId, f.msgId, RC.ACCEPTED)];
    if (qos === 2) return [{ type: 'send', frame: { type: 'PUBREC', msgId: f.msgId } }];
    return [];
  });
}

/**
 * PUBLISH from a client that is not connected: only QoS −1 to a predefined or short topic is taken
 * (published as QoS 0 from NegQoS-Client, no answer); with enable_qos3 off it gets PUBACK "not supported".
 * When the gateway authenticates its clients, such a publish would bypass the authenticator: it is
 * dropped (counted, logged once a window) unless `qos3_identity` names who it is authorized as.
 */
export function publishUnconnected(h: PubSubHost, f: Of<'PUBLISH'>): Replies<SnFrame> {
  const { ctx } = h;
  if (f.flags.qos !== 3) return [];
  if (!ctx.config.enable_qos3) return [puback(f.topicId, f.msgId, RC.NOT_SUPPORTED)];
  const identity = ctx.config.qos3_identity;
  if (identity === undefined && authenticates(ctx)) {
    ctx.metrics.inc('messages.dropped');
    ctx.log.warn(
      { peer: `${ctx.conn.peerhost}:${ctx.conn.peerport}` },
      'mqttsn: QoS -1 publish dropped: the gateway authenticates clients and qos3_identity is not set',
    );
    return [];
  }
  let topic: string | undefined;
  if (f.flags.topicIdType === TopicIdType.PREDEFINED) topic = h.topicIds.predefined.byId.get(f.topicId);
  else if (f.flags.topicIdType === TopicIdType.SHORT) topic = shortTopicName(f.topicId);
  if (topic === undefined || isWildcard(topic)) return [];
  const req = {
    topic,
    payload: f.data,
    qos: 0 as const,
    retain: f.flags.retain,
    from: identity?.clientid ?? NEG_QOS_CLIENT,
    identity,
  };
  return andThen(ctx.publish(req), (): R[] => []);
}

/** Whether this listener's clients go through an authenticator (the listener's, else the gateway's). */
function authenticates(ctx: ChannelContext<MqttSnConfig>): boolean {
  if (!ctx.listener.enableAuthn) return false;
  const own = ctx.config.listeners[ctx.listener.type]?.[ctx.listener.name]?.authentication;
  const chain = own ?? ctx.config.authentication;
  return chain !== undefined && (chain as { enable?: unknown }).enable !== false;
}

function suback(qos: number, topicId: number, msgId: number, rc: number): R {
  const q = (rc === RC.ACCEPTED ? qos : 0) as 0 | 1 | 2;
  return { type: 'send', frame: { type: 'SUBACK', flags: flags({ qos: q }), topicId, msgId, rc } };
}

function subscribeRc(r: SubscribeResult): number {
  switch (r.result) {
    case 'ok':
      return RC.ACCEPTED;
    case 'denied':
      return RC.NOT_AUTHORIZED;
    case 'invalid':
      return RC.NOT_SUPPORTED;
    default:
      return RC.EXCEED_LIMITATION;
  }
}

/**
 * SUBSCRIBE: a plain name is registered and its id returned in SUBACK; a wildcard or short name gets id 0
 * (the gateway REGISTERs on first delivery); an unknown predefined id is "invalid topic id".
 */
export function subscribe(h: PubSubHost, f: Of<'SUBSCRIBE'>): Replies<SnFrame> {
  // QoS −1 is for publishing only (§6.8); an empty name names nothing: both are "not supported".
  if (f.flags.qos === 3 || ('name' in f.topic && f.topic.name === ''))
    return [suback(0, 0, f.msgId, RC.NOT_SUPPORTED)];
  const qos = f.flags.qos;
  let name: string;
  let topicId = 0;
  if ('id' in f.topic) {
    const t = h.topicIds.predefined.byId.get(f.topic.id);
    if (t === undefined) return [suback(0, 0, f.msgId, RC.INVALID_TOPIC_ID)];
    name = t;
    topicId = f.topic.id;
  } else if (f.flags.topicIdType === TopicIdType.RESERVED) {
    return [suback(0, 0, f.msgId, RC.NOT_SUPPORTED)];
  } else {
    name = f.topic.name;
    if (f.flags.topicIdType === TopicIdType.NORMAL && !isWildcard(name)) {
      const id = h.topicIds.register(name);
      if (typeof id !== 'number') return [suback(0, 0, f.msgId, RC.EXCEED_LIMITATION)];
      topicId = id;
    }
  }
  const opts: SubOpts = { qos, nl: 0, rap: 0, rh: 0 };
  h.holdFor('subscribe', true);
  const release = (): void => h.holdFor('subscribe', false);
  let result: SubscribeResult | Promise<SubscribeResult>;
  try {
    result = h.ctx.subscribe(name, opts);
  } catch (err) {
    release();
    throw err;
  }
  return andThen(result, (r): R[] => {
    release();
    if (r.result !== 'ok')
      h.ctx.log.info({ topic: name, result: r.result }, `mqttsn: subscribe refused: ${r.message}`);
    const rc = subscribeRc(r);
    return [suback(qos, rc === RC.ACCEPTED ? topicId : 0, f.msgId, rc)];
  });
}

/** UNSUBSCRIBE: always answered with UNSUBACK. */
export function unsubscribe(h: PubSubHost, f: Of<'UNSUBSCRIBE'>): Replies<SnFrame> {
  const ack: R[] = [{ type: 'send', frame: { type: 'UNSUBACK', msgId: f.msgId } }];
  const name = 'id' in f.topic ? h.topicIds.predefined.byId.get(f.topic.id) : f.topic.name;
  if (name === undefined) return ack;
  return andThen(h.ctx.unsubscribe(name), () => ack);
}
