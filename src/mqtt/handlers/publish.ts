/**
 * PUBLISH from a client: resolve the topic alias, validate, authorize, hand the message to the broker and
 * acknowledge per QoS (exactly once for QoS 2: a repeated packet id is acknowledged, not published again).
 * A QoS 0/1 PUBLISH may be read while the ones before it still wait for an async message.publish fold
 * (ExHook): everything it makes the client see (routing, ack, refusal) goes through ch.inPublishOrder.
 */
import type { BrokerJournal } from '../../broker/broker.js';
import { Message } from '../../broker/message.js';
import { mount, topicNameError } from '../../broker/topic.js';
import type { MessageProperties } from '../../broker/types.js';
import type { PublishPacket, PublishProperties } from '../codec/packets.js';
import { RC } from '../reason-codes.js';
import type { HandlerResult, MqttClient } from '../state.js';

/** Handles an incoming PUBLISH. */
export function handlePublish(ch: MqttClient, p: PublishPacket): HandlerResult {
  const host = ch.host;
  const cfg = host.mqtt;
  const c = host.broker.metrics.c;
  c['packets.publish.received']++;
  c['messages.received']++;
  ch.counts.received(p.qos);
  if (p.qos === 0) c['messages.qos0.received']++;
  else if (p.qos === 1) c['messages.qos1.received']++;
  else c['messages.qos2.received']++;

  let topic = p.topic;
  const props = p.properties;
  if (ch.version === 5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    if (alias === 0 || alias > cfg.max_topic_alias) {
      c['packets.publish.error']++;
      return refuse(ch, `topic alias ${alias} outside 1..${cfg.max_topic_alias}`, RC.TOPIC_ALIAS_INVALID);
    }
    ch.inboundAliases ??= new Map();
    if (topic.length > 0) ch.inboundAliases.set(alias, topic);
    else {
      const known = ch.inboundAliases.get(alias);
      if (known === undefined) {
        c['packets.publish.error']++;
        return refuse(ch, `unknown topic alias ${alias}`);
      }
      topic = known;
    }
  }
  const err = topicNameError(topic, { maxLevels: cfg.max_topic_levels, maxLength: cfg.max_topic_length });
  if (err !== undefined) {
    c['packets.publish.error']++;
    return refuse(ch, `invalid topic name: ${err}`, RC.TOPIC_NAME_INVALID);
  }
  if (p.qos > cfg.max_qos_allowed) {
    c['packets.publish.error']++;
    return refuse(ch, `QoS ${p.qos} above max_qos_allowed`, RC.QOS_NOT_SUPPORTED);
  }
  if (p.retain && !cfg.retain_available) {
    c['packets.publish.error']++;
    return refuse(ch, 'retained messages are not supported', RC.RETAIN_NOT_SUPPORTED);
  }
  if (props?.payloadFormatIndicator === 1 && !isUtf8(p.payload)) {
    // The client promised UTF-8 [MQTT-3.3.2-4]; the server may refuse what is not.
    c['packets.publish.error']++;
    if (p.qos === 0) return refuse(ch, 'payload is not UTF-8', RC.PAYLOAD_FORMAT_INVALID);
    return refuseWithAck(ch, p, RC.PAYLOAD_FORMAT_INVALID);
  }

  const session = ch.session!;
  if (p.qos === 2) {
    if (
      ch.version === 5 &&
      session.awaitingRel.size >= cfg.max_inflight &&
      !session.awaitingRel.has(p.packetId)
    ) {
      // More unacknowledged QoS 2 messages than the Receive Maximum we advertised [MQTT-3.3.4-9].
      c['messages.dropped']++;
      c['messages.dropped.receive_maximum']++;
      return ch.protocolError('receive maximum exceeded', RC.RECEIVE_MAXIMUM_EXCEEDED);
    }
    const state = session.awaitRel(p.packetId);
    if (state === 'duplicate') {
      c['packets.publish.inuse']++;
      ack(ch, p, RC.SUCCESS);
      return;
    }
    if (state === 'full') {
      c['packets.publish.dropped']++;
      c['messages.dropped']++;
      c['messages.dropped.quota_exceeded']++;
      // 3.x has no way to refuse a QoS 2 message; closing keeps it in the client's store for a retry.
      if (ch.version !== 5) return ch.protocolError('max_awaiting_rel reached');
      // 0x97 Quota exceeded: 0x93 (EMQX's choice) is not a reason code PUBREC may carry.
      ack(ch, p, RC.QUOTA_EXCEEDED);
      return;
    }
  }

  const quick = ch.host.access.quickAnswer(ch.clientInfo, topic);
  const allowed = quick ?? ch.authorize({ action_type: 'publish', qos: p.qos, retain: p.retain }, topic);
  if (allowed instanceof Promise) return afterAuthzLater(ch, p, topic, allowed);
  return afterAuthz(ch, p, topic, allowed);
}

function afterAuthz(ch: MqttClient, p: PublishPacket, topic: string, allowed: boolean): HandlerResult {
  const c = ch.host.broker.metrics.c;
  if (!allowed) {
    c['packets.publish.auth_error']++;
    c['packets.publish.dropped']++;
    if (p.qos === 2) ch.session!.release(p.packetId);
    return refuseDenied(ch, p);
  }
  const ci = ch.clientInfo;
  const msg = new Message(
    ci.mountpoint.length === 0 ? topic : mount(ci.mountpoint, topic),
    p.payload,
    p.qos,
    ci.clientid,
    p.retain,
    messageProps(p.properties),
    { username: ci.username, peerhost: ci.peerhost, protocol: 'mqtt', proto_ver: ch.version },
  );
  const defaultExpiry = ch.host.mqtt.message_expiry_interval;
  if (msg.expiresAt === 0 && defaultExpiry !== Number.POSITIVE_INFINITY && defaultExpiry > 0) {
    msg.expiresAt = msg.timestamp + defaultExpiry;
  }
  msg.foldsInOrder = true;
  const folded = ch.host.broker.foldPublish(msg);
  // What inPublishOrder would do at once, without its closure per message (no fold pending, none async).
  if (!(folded instanceof Promise) && ch.publishesInOrder) route(ch, p, msg, folded);
  else routeInOrder(ch, p, msg, folded);
}

/** After the fold: routes the message and acknowledges the publish. */
function route(ch: MqttClient, p: PublishPacket, msg: Message, folded: Message): void {
  // The ack's reason code needs the delivery count, but a delivery back to this client must not overtake it.
  if (p.qos > 0) ch.holdOwnDeliveries();
  afterPublish(ch, p, msg, ch.host.broker.routeFolded(folded));
}

/** Runs `fn` after the steps of the publishes read before this one (at once when none waits). */
function inTurn(ch: MqttClient, fn: () => void): void {
  ch.inPublishOrder(undefined, fn);
}

// The closures of the rare paths live in the small functions below, not in handlePublish and afterAuthz:
// V8 allocates a function's closure context on entry whenever an inner closure captures its variables,
// whichever branch runs, so every QoS 1 publish paid for those contexts (~60 B in handlePublish, ~70 B in
// afterAuthz, plus ~100 B in ack; heap sampling with inlining off, lone QoS 1 pub->sub, 2026-12-05).

/** Closes the connection for a protocol error, in publish order. */
function refuse(ch: MqttClient, message: string, rc?: number): void {
  inTurn(ch, () => ch.protocolError(message, rc));
}

/** Refuses a QoS 1/2 publish with a reason code in its ack, in publish order. */
function refuseWithAck(ch: MqttClient, p: PublishPacket, rc: number): void {
  inTurn(ch, () => ack(ch, p, rc));
}

/** An unauthorized publish: its ack says so (QoS 1/2), then the deny action, in publish order. */
function refuseDenied(ch: MqttClient, p: PublishPacket): void {
  inTurn(ch, () => {
    if (p.qos > 0) ack(ch, p, RC.NOT_AUTHORIZED);
    ch.denied();
  });
}

function afterAuthzLater(
  ch: MqttClient,
  p: PublishPacket,
  topic: string,
  allowed: Promise<boolean>,
): Promise<void> {
  return allowed.then((ok) => afterAuthz(ch, p, topic, ok));
}

/** Routes once the publishes before this one are done and its own fold has settled. */
function routeInOrder(
  ch: MqttClient,
  p: PublishPacket,
  msg: Message,
  folded: Message | Promise<Message>,
): void {
  ch.inPublishOrder(folded, (f) => route(ch, p, msg, f));
}

function afterPublish(ch: MqttClient, p: PublishPacket, msg: Message, delivered: number): void {
  if (p.qos > 0)
    ack(ch, p, delivered === 0 || delivered === -1 ? RC.NO_MATCHING_SUBSCRIBERS : RC.SUCCESS, true);
  else ch.releaseOwnDeliveries();
  if (msg.headers.should_disconnect === true) ch.disconnect(RC.ADMINISTRATIVE_ACTION, 'should_disconnect');
}

/**
 * PUBACK (QoS 1) or PUBREC (QoS 2) with a reason code (3.x acks carry none); with `release`, the deliveries
 * this publish caused to the client itself follow the ack, wherever durability holds it.
 */
function ack(ch: MqttClient, p: PublishPacket, rc: number, release = false): void {
  const c = ch.host.broker.metrics.c;
  if (p.qos === 1) c['packets.puback.sent']++;
  else if (p.qos === 2) c['packets.pubrec.sent']++;
  else return;
  const cmd = p.qos === 1 ? 'puback' : 'pubrec';
  // Durability: what this publish changed in the store must be committed before the client is told so.
  const journal = ch.host.broker.journal;
  if (journal?.holding === true) ackWhenCommitted(ch, journal, cmd, p.packetId, rc, release);
  else {
    ch.sendAck(cmd, p.packetId, rc);
    if (release) ch.releaseOwnDeliveries();
  }
}

// Its own function so that `ack` has no closure: V8 allocates a function's closure context on every call,
// whichever branch runs, and it was ~100 B of each QoS 1 publish's garbage (heap sampling with inlining
// off, lone QoS 1 pub→sub, 2026-12-05).
function ackWhenCommitted(
  ch: MqttClient,
  journal: BrokerJournal,
  cmd: 'puback' | 'pubrec',
  packetId: number,
  rc: number,
  release: boolean,
): void {
  journal.hold(() => {
    ch.sendAck(cmd, packetId, rc);
    if (release) ch.releaseOwnDeliveries();
  });
}

/** The properties a message carries onward: everything but the alias and subscription ids. */
function messageProps(props: PublishProperties | undefined): MessageProperties | undefined {
  if (props === undefined) return undefined;
  if (props.topicAlias === undefined && props.subscriptionIdentifiers === undefined) return props;
  const { topicAlias: _a, subscriptionIdentifiers: _s, ...rest } = props;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8(buf: Buffer): boolean {
  try {
    decoder.decode(buf);
    return true;
  } catch {
    return false;
  }
}
