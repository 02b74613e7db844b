/**
 * SUBSCRIBE: validate each filter, check capabilities and quota, authorize, run the client.subscribe fold
 * (after authorization, as EMQX), answer SUBACK, then subscribe — so retained messages follow the SUBACK.
 */
import type { TopicFilterEntry } from '../../broker/hooks.js';
import { subOpts } from '../../broker/sub-opts.js';
import {
  isWildcard,
  joinShare,
  mount,
  parseSubscriptionTopic,
  topicFilterError,
} from '../../broker/topic.js';
import type { QoS, SubOpts } from '../../broker/types.js';
import type { SubscribePacket } from '../codec/packets.js';
import { RC, reasonName } from '../reason-codes.js';
import type { HandlerResult, MqttClient } from '../state.js';

/**
 * A filter a client.subscribe fold callback kept, possibly rewritten. Only that path makes these: without a
 * fold, the SUBSCRIBE's own filters and `codes` say everything (a filter still in the running has its
 * granted QoS as code). With no object per filter, and Broker.addSubscription's per-packet checks, the
 * broker went from ~8 560 to ~7 580 instructions per SUBSCRIBE filter (callgrind, the subscriptions curve's
 * filters, 7 rounds of 10 k in one process after a first, two runs, 2026-12-05).
 */
interface Candidate {
  /** Index in the SUBSCRIBE, to place the reason code. */
  index: number;
  /** As the client (or the fold) wrote it (unmounted). */
  topic: string;
  group: string | undefined;
  opts: SubOpts;
  /** The filter without $share/group under the client's mountpoint: the route. */
  mounted: string;
  /** The subscription topic as the session stores it: the mountpoint inside the share prefix. */
  stored: string;
}

/** A code below this is a granted QoS: the filter is still in the running. */
const FAILED = 0x80;

/** Handles SUBSCRIBE. */
export function handleSubscribe(ch: MqttClient, p: SubscribePacket): HandlerResult {
  const host = ch.host;
  const cfg = host.mqtt;
  const c = host.broker.metrics.c;
  c['packets.subscribe.received']++;
  const subs = p.subscriptions;
  const codes = new Array<number>(subs.length).fill(RC.UNSPECIFIED_ERROR);
  const existing = ch.session!.subscriptions;
  const mountpoint = ch.clientInfo.mountpoint;
  const limits = { maxLevels: cfg.max_topic_levels, maxLength: cfg.max_topic_length };
  let quota = cfg.max_subscriptions - existing.size;
  let candidates = 0;

  for (let i = 0; i < subs.length; i++) {
    const s = subs[i]!;
    const topic = s.topic;
    // A topic filter is at least one character [MQTT-4.7.3-1]: an empty one makes the packet malformed, in
    // 3.1.1 (which can only close) and 5 (DISCONNECT 0x81) alike, rather than a per-filter failure.
    if (topic.length === 0) {
      c['packets.malformed']++;
      return ch.protocolError('empty topic filter in SUBSCRIBE', RC.MALFORMED_PACKET);
    }
    let filter = topic;
    let group: string | undefined;
    // Only a topic starting with '$' can be `$share/…` or `$queue/…`: the others skip the parse and the
    // object it returns.
    if (topic.charCodeAt(0) === 0x24 /* $ */) {
      const parsed = parseSubscriptionTopic(topic);
      if (typeof parsed === 'string') {
        codes[i] = RC.TOPIC_FILTER_INVALID;
        continue;
      }
      filter = parsed.filter;
      group = parsed.group;
    }
    if (topicFilterError(filter, limits) !== undefined) {
      codes[i] = RC.TOPIC_FILTER_INVALID;
      continue;
    }
    if (group !== undefined) {
      if (!cfg.shared_subscription) {
        codes[i] = RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED;
        continue;
      }
      // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
      if (s.noLocal) return ch.protocolError('no local set on a shared subscription');
    }
    if (!cfg.wildcard_subscription && isWildcard(filter)) {
      codes[i] = RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED;
      continue;
    }
    // Without a limit (the default) the session map is not asked: a lookup per filter saved.
    if (quota !== Number.POSITIVE_INFINITY && !existing.has(joinShare(mount(mountpoint, filter), group))) {
      if (quota <= 0) {
        codes[i] = RC.QUOTA_EXCEEDED;
        continue;
      }
      quota--;
    }
    codes[i] = s.qos <= cfg.max_qos_allowed ? s.qos : cfg.max_qos_allowed;
    candidates++;
  }

  return authorizeAll(ch, p, codes, candidates, (denied) => {
    if (denied) c['packets.subscribe.auth_error']++;
    return runSubscribeHook(ch, p, codes);
  });
}

/** The filter of a topic that passed handleSubscribe's checks, without its `$share/group/` or `$queue/`. */
function filterOf(topic: string): string {
  if (topic.charCodeAt(0) !== 0x24 /* $ */) return topic;
  const parsed = parseSubscriptionTopic(topic);
  return typeof parsed === 'string' ? topic : parsed.filter;
}

/** The share group of a topic that passed handleSubscribe's checks. */
function groupOf(topic: string): string | undefined {
  if (topic.charCodeAt(0) !== 0x24 /* $ */) return undefined;
  const parsed = parseSubscriptionTopic(topic);
  return typeof parsed === 'string' ? undefined : parsed.group;
}

/** The options of the SUBSCRIBE's filter `i`, granted `codes[i]` as QoS. */
function optsOf(p: SubscribePacket, i: number, qos: number): SubOpts {
  const s = p.subscriptions[i]!;
  return subOpts(
    qos as QoS,
    s.noLocal ? 1 : 0,
    s.retainAsPublished ? 1 : 0,
    s.retainHandling,
    p.properties?.subscriptionIdentifier,
  );
}

/** The SUBSCRIBE's filter `i` as a Candidate (the client.subscribe fold path). */
function candidateOf(ch: MqttClient, p: SubscribePacket, i: number, qos: number): Candidate {
  const topic = p.subscriptions[i]!.topic;
  const group = groupOf(topic);
  const mounted = mount(ch.clientInfo.mountpoint, filterOf(topic));
  return { index: i, topic, group, opts: optsOf(p, i, qos), mounted, stored: joinShare(mounted, group) };
}

function runSubscribeHook(ch: MqttClient, p: SubscribePacket, codes: number[]): HandlerResult {
  const hooks = ch.host.broker.hooks;
  if (!hooks.has('client.subscribe')) return finish(ch, p, undefined, codes);
  const authorized = packetCandidates(ch, p, codes);
  if (authorized.length === 0) return finish(ch, p, authorized, codes);
  // A copy of the options: the candidates' are shared frozen objects (sub-opts.ts) a callback may not change.
  const entries: TopicFilterEntry[] = authorized.map((x) => ({ topic: x.topic, opts: { ...x.opts } }));
  const r = hooks.runFold(
    'client.subscribe',
    [ch.clientInfo, { userProperties: p.properties?.userProperties }],
    entries,
  );
  const apply = (kept: TopicFilterEntry[]): HandlerResult => {
    // A filter the fold removed is refused; one it rewrote is subscribed as rewritten.
    const mountpoint = ch.clientInfo.mountpoint;
    const accepted: Candidate[] = [];
    const used = new Set<TopicFilterEntry>();
    for (let j = 0; j < authorized.length; j++) {
      const cand = authorized[j]!;
      const e = keptEntryOf(kept, entries[j]!, cand.topic, used, kept.length === authorized.length ? j : -1);
      if (e === undefined) {
        codes[cand.index] = RC.UNSPECIFIED_ERROR;
        continue;
      }
      const parsed = parseSubscriptionTopic(e.topic);
      if (typeof parsed === 'string') {
        codes[cand.index] = RC.TOPIC_FILTER_INVALID;
        continue;
      }
      const mounted = mount(mountpoint, parsed.filter);
      accepted.push({
        index: cand.index,
        topic: e.topic,
        group: parsed.group,
        opts: e.opts,
        mounted,
        stored: joinShare(mounted, parsed.group),
      });
    }
    return finish(ch, p, accepted, codes);
  };
  if (r instanceof Promise) return r.then(apply);
  return apply(r);
}

/**
 * The entry of the fold's result that stands for one filter of the SUBSCRIBE: the entry object it was given
 * (kept, possibly changed in place), else an unused entry with the same topic, else, when the fold kept as
 * many entries as it got (a rewrite, nothing dropped), the one at the same position. A filter with none of
 * these was dropped: matching by position after a drop would subscribe it as its neighbour's rewrite.
 */
function keptEntryOf(
  kept: TopicFilterEntry[],
  given: TopicFilterEntry,
  topic: string,
  used: Set<TopicFilterEntry>,
  position: number,
): TopicFilterEntry | undefined {
  let e: TopicFilterEntry | undefined = kept.includes(given) && !used.has(given) ? given : undefined;
  e ??= kept.find((k) => k.topic === topic && !used.has(k));
  if (e === undefined && position >= 0 && !used.has(kept[position]!)) e = kept[position];
  if (e !== undefined) used.add(e);
  return e;
}

/**
 * `accepted` are the filters to subscribe when a client.subscribe fold ran; undefined means those of the
 * SUBSCRIBE whose code is still a QoS, as they were written.
 */
function finish(
  ch: MqttClient,
  p: SubscribePacket,
  accepted: Candidate[] | undefined,
  codes: number[],
): HandlerResult {
  // On a cluster node a new route must be known to every node before SUBACK: a client that publishes
  // elsewhere once subscribed expects to get the message (nothing to wait for on a single node).
  const broker = ch.host.broker;
  if (broker.cluster === undefined) return acknowledge(ch, p, accepted, codes);
  const topics = (accepted ?? packetCandidates(ch, p, codes)).map((a) => a.stored);
  const held = broker.holdRoutes(topics);
  if (held === undefined) return acknowledge(ch, p, accepted, codes);
  return held
    .then(
      () => acknowledge(ch, p, accepted, codes),
      () => acknowledge(ch, p, accepted, codes),
    )
    .finally(() => broker.releaseRoutes(topics));
}

/** The SUBSCRIBE's filters still in the running, as Candidates. */
function packetCandidates(ch: MqttClient, p: SubscribePacket, codes: number[]): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < codes.length; i++) if (codes[i]! < FAILED) out.push(candidateOf(ch, p, i, codes[i]!));
  return out;
}

function acknowledge(
  ch: MqttClient,
  p: SubscribePacket,
  accepted: Candidate[] | undefined,
  codes: number[],
): void {
  const c = ch.host.broker.metrics.c;
  if (accepted !== undefined) for (const a of accepted) codes[a.index] = a.opts.qos;
  let failed: string[] | undefined;
  for (let i = 0; i < codes.length; i++) {
    const rc = codes[i]!;
    if (rc >= FAILED) (failed ??= []).push(`${p.subscriptions[i]!.topic}: ${reasonName(rc)}`);
  }
  // 3.x has a single failure code (0x80) [MQTT-3.9.3-2].
  const reasonCodes =
    ch.version === 5 || failed === undefined ? codes : codes.map((rc) => Math.min(rc, FAILED));
  if (failed !== undefined) c['packets.subscribe.error']++;
  const properties = failed !== undefined ? ch.reasonString(failed.join('; ')) : undefined;
  ch.send({ cmd: 'suback', packetId: p.packetId, reasonCodes, properties });
  c['packets.suback.sent']++;
  const broker = ch.host.broker;
  const session = ch.session;
  // The connection may have gone while the routes settled.
  if (session === undefined) return;
  // Who listens on session.subscribed, and the route gauges and the journal after, once per packet.
  const listeners = broker.subscribedListeners();
  if (accepted !== undefined) {
    for (const a of accepted) {
      c['client.subscribe']++;
      broker.addSubscription(session, a.stored, a.mounted, a.group, a.opts, listeners);
    }
  } else {
    const mountpoint = ch.clientInfo.mountpoint;
    for (let i = 0; i < codes.length; i++) {
      const qos = codes[i]!;
      if (qos >= FAILED) continue;
      c['client.subscribe']++;
      const topic = p.subscriptions[i]!.topic;
      const group = groupOf(topic);
      const mounted = mount(mountpoint, filterOf(topic));
      broker.addSubscription(
        session,
        joinShare(mounted, group),
        mounted,
        group,
        optsOf(p, i, qos),
        listeners,
      );
    }
  }
  broker.subscriptionsAdded(session);
}

/**
 * Authorizes each of the `candidates` filters still in the running (a QoS as code), turning the code of each
 * refused one into NOT_AUTHORIZED; then calls `next` with whether any was refused (sync when every check was
 * sync).
 */
function authorizeAll(
  ch: MqttClient,
  p: SubscribePacket,
  codes: number[],
  candidates: number,
  next: (denied: boolean) => HandlerResult,
): HandlerResult {
  let pending: Promise<void>[] | undefined;
  let denied = false;
  const access = ch.host.access;
  for (let i = 0; candidates > 0 && i < codes.length; i++) {
    const qos = codes[i]!;
    if (qos >= FAILED) continue;
    candidates--;
    // As the publish path: with no authorization source and no client ACL the answer (and its counters)
    // needs no action object per filter.
    const r =
      access.quickAnswer(ch.clientInfo) ??
      ch.authorize({ action_type: 'subscribe', qos: qos as QoS }, filterOf(p.subscriptions[i]!.topic));
    if (r instanceof Promise) {
      (pending ??= []).push(
        r.then((ok) => {
          if (ok) return;
          codes[i] = RC.NOT_AUTHORIZED;
          denied = true;
        }),
      );
    } else if (!r) {
      codes[i] = RC.NOT_AUTHORIZED;
      denied = true;
    }
  }
  const decided = (): HandlerResult => {
    const out = next(denied);
    if (denied) ch.denied();
    return out;
  };
  // The answers land in `codes` by index, so the SUBSCRIBE order holds whatever order async answers came in.
  return pending === undefined ? decided() : Promise.all(pending).then(decided);
}
