/**
 * SUBSCRIBE: validate each filter, check capabilities and quota, authorize, run the client.subscribe fold
 * (after authorization, as EMQX), answer SUBACK, then subscribe — so retained messages follow the SUBACK.
 */
import type { TopicFilterEntry } from '../../broker/hooks.js';
import { joinShare, mount, parseSubscriptionTopic, topicFilterError } from '../../broker/topic.js';
import type { SubOpts } from '../../broker/types.js';
import type { SubscribePacket } from '../codec/packets.js';
import { RC, reasonName } from '../reason-codes.js';
import type { HandlerResult, MqttClient } from '../state.js';

interface Candidate {
  /** Index in the SUBSCRIBE, to place the reason code. */
  index: number;
  /** As the client wrote it (unmounted). */
  topic: string;
  /** The filter without $share/group, unmounted: what authorization checks. */
  filter: string;
  group: string | undefined;
  opts: SubOpts;
}

/** Handles SUBSCRIBE. */
export function handleSubscribe(ch: MqttClient, p: SubscribePacket): HandlerResult {
  const host = ch.host;
  const cfg = host.mqtt;
  const c = host.broker.metrics.c;
  c['packets.subscribe.received']++;
  const codes = new Array<number>(p.subscriptions.length).fill(RC.UNSPECIFIED_ERROR);
  const subid = p.properties?.subscriptionIdentifier;
  const candidates: Candidate[] = [];
  const session = ch.session!;
  let quota = cfg.max_subscriptions - session.subscriptions.size;

  for (let i = 0; i < p.subscriptions.length; i++) {
    const s = p.subscriptions[i]!;
    // A topic filter is at least one character [MQTT-4.7.3-1]: an empty one makes the packet malformed, in
    // 3.1.1 (which can only close) and 5 (DISCONNECT 0x81) alike, rather than a per-filter failure.
    if (s.topic.length === 0) {
      c['packets.malformed']++;
      return ch.protocolError('empty topic filter in SUBSCRIBE', RC.MALFORMED_PACKET);
    }
    const parsed = parseSubscriptionTopic(s.topic);
    if (typeof parsed === 'string') {
      codes[i] = RC.TOPIC_FILTER_INVALID;
      continue;
    }
    const err = topicFilterError(parsed.filter, {
      maxLevels: cfg.max_topic_levels,
      maxLength: cfg.max_topic_length,
    });
    if (err !== undefined) {
      codes[i] = RC.TOPIC_FILTER_INVALID;
      continue;
    }
    if (parsed.group !== undefined) {
      if (!cfg.shared_subscription) {
        codes[i] = RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED;
        continue;
      }
      // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
      if (s.noLocal) return ch.protocolError('no local set on a shared subscription');
    }
    if (!cfg.wildcard_subscription && (parsed.filter.includes('+') || parsed.filter.includes('#'))) {
      codes[i] = RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED;
      continue;
    }
    const exists = session.subscriptions.has(mountedTopic(ch, parsed.filter, parsed.group));
    if (!exists && quota <= 0) {
      codes[i] = RC.QUOTA_EXCEEDED;
      continue;
    }
    if (!exists) quota--;
    const qos = s.qos <= cfg.max_qos_allowed ? s.qos : (cfg.max_qos_allowed as 0 | 1 | 2);
    const opts: SubOpts = {
      qos,
      nl: s.noLocal ? 1 : 0,
      rap: s.retainAsPublished ? 1 : 0,
      rh: s.retainHandling,
    };
    if (subid !== undefined) opts.subid = subid;
    candidates.push({ index: i, topic: s.topic, filter: parsed.filter, group: parsed.group, opts });
  }

  return authorizeAll(ch, candidates, (allowed) => {
    for (const cand of candidates) if (!allowed.has(cand)) codes[cand.index] = RC.NOT_AUTHORIZED;
    const authorized = candidates.filter((x) => allowed.has(x));
    if (authorized.length < candidates.length) {
      c['packets.subscribe.auth_error']++;
    }
    return runSubscribeHook(ch, p, authorized, codes);
  });
}

function runSubscribeHook(
  ch: MqttClient,
  p: SubscribePacket,
  authorized: Candidate[],
  codes: number[],
): HandlerResult {
  const hooks = ch.host.broker.hooks;
  if (!hooks.has('client.subscribe') || authorized.length === 0) return finish(ch, p, authorized, codes);
  const entries: TopicFilterEntry[] = authorized.map((x) => ({ topic: x.topic, opts: x.opts }));
  const r = hooks.runFold(
    'client.subscribe',
    [ch.clientInfo, { userProperties: p.properties?.userProperties }],
    entries,
  );
  const apply = (kept: TopicFilterEntry[]): HandlerResult => {
    // A filter the fold removed is refused; one it rewrote is subscribed as rewritten.
    const accepted: Candidate[] = [];
    for (const cand of authorized) {
      const e = kept.find((k) => k.topic === cand.topic) ?? kept[authorized.indexOf(cand)];
      if (e === undefined) {
        codes[cand.index] = RC.UNSPECIFIED_ERROR;
        continue;
      }
      const parsed = parseSubscriptionTopic(e.topic);
      if (typeof parsed === 'string') {
        codes[cand.index] = RC.TOPIC_FILTER_INVALID;
        continue;
      }
      accepted.push({ ...cand, topic: e.topic, filter: parsed.filter, group: parsed.group, opts: e.opts });
    }
    return finish(ch, p, accepted, codes);
  };
  if (r instanceof Promise) return r.then(apply);
  return apply(r);
}

function finish(ch: MqttClient, p: SubscribePacket, accepted: Candidate[], codes: number[]): HandlerResult {
  // On a cluster node a new route must be known to every node before SUBACK: a client that publishes
  // elsewhere once subscribed expects to get the message (nothing to wait for on a single node).
  const broker = ch.host.broker;
  const topics = accepted.map((a) => mountedTopic(ch, a.filter, a.group));
  const held = broker.holdRoutes(topics);
  if (held === undefined) return acknowledge(ch, p, accepted, topics, codes);
  return held
    .then(
      () => acknowledge(ch, p, accepted, topics, codes),
      () => acknowledge(ch, p, accepted, topics, codes),
    )
    .finally(() => broker.releaseRoutes(topics));
}

function acknowledge(
  ch: MqttClient,
  p: SubscribePacket,
  accepted: Candidate[],
  topics: string[],
  codes: number[],
): void {
  const c = ch.host.broker.metrics.c;
  for (const a of accepted) codes[a.index] = a.opts.qos;
  const v5 = ch.version === 5;
  // 3.x has a single failure code (0x80) [MQTT-3.9.3-2].
  const reasonCodes = v5 ? codes : codes.map((rc) => Math.min(rc, 0x80));
  const failed = codes.flatMap((rc, i) =>
    rc >= 0x80 ? [`${p.subscriptions[i]!.topic}: ${reasonName(rc)}`] : [],
  );
  if (failed.length > 0) c['packets.subscribe.error']++;
  const properties = failed.length > 0 ? ch.reasonString(failed.join('; ')) : undefined;
  ch.send({ cmd: 'suback', packetId: p.packetId, reasonCodes, properties });
  c['packets.suback.sent']++;
  const broker = ch.host.broker;
  const session = ch.session;
  // The connection may have gone while the routes settled.
  if (session === undefined) return;
  for (let i = 0; i < accepted.length; i++) {
    c['client.subscribe']++;
    broker.subscribe(session, topics[i]!, accepted[i]!.opts);
  }
}

/** The subscription topic as stored: mountpoint inside the share prefix. */
function mountedTopic(ch: MqttClient, filter: string, group: string | undefined): string {
  return joinShare(mount(ch.clientInfo.mountpoint, filter), group);
}

/** Authorizes every candidate; calls `next` with the allowed ones (sync when every check was sync). */
function authorizeAll(
  ch: MqttClient,
  candidates: Candidate[],
  next: (allowed: Set<Candidate>) => HandlerResult,
): HandlerResult {
  const allowed = new Set<Candidate>();
  const pending: Promise<void>[] = [];
  for (const cand of candidates) {
    const r = ch.authorize({ action_type: 'subscribe', qos: cand.opts.qos }, cand.filter);
    if (r instanceof Promise) {
      pending.push(
        r.then((ok) => {
          if (ok) allowed.add(cand);
        }),
      );
    } else if (r) allowed.add(cand);
  }
  if (pending.length === 0) {
    const out = next(allowed);
    if (allowed.size < candidates.length) ch.denied();
    return out;
  }
  return Promise.all(pending).then(() => {
    // Keep the SUBSCRIBE order whatever order the answers came in.
    const ordered = new Set(candidates.filter((x) => allowed.has(x)));
    const out = next(ordered);
    if (ordered.size < candidates.length) ch.denied();
    return out;
  });
}
