/**
 * UNSUBSCRIBE: run the client.unsubscribe fold, remove each subscription, answer UNSUBACK (MQTT 5 with a
 * reason code per filter: 0x00, 0x11 No subscription existed, 0x8F Topic filter invalid).
 */
import type { TopicFilterEntry } from '../../broker/hooks.js';
import { joinShare, mount, parseSubscriptionTopic, topicFilterError } from '../../broker/topic.js';
import type { UnsubscribePacket } from '../codec/packets.js';
import { RC, reasonName } from '../reason-codes.js';
import type { HandlerResult, MqttClient } from '../state.js';

/** Handles UNSUBSCRIBE. */
export function handleUnsubscribe(ch: MqttClient, p: UnsubscribePacket): HandlerResult {
  const c = ch.host.broker.metrics.c;
  c['packets.unsubscribe.received']++;
  const hooks = ch.host.broker.hooks;
  if (!hooks.has('client.unsubscribe')) return finish(ch, p, p.topics);
  const entries: TopicFilterEntry[] = p.topics.map((topic) => ({
    topic,
    opts: { qos: 0, nl: 0, rap: 0, rh: 0 },
  }));
  const r = hooks.runFold(
    'client.unsubscribe',
    [ch.clientInfo, { userProperties: p.properties?.userProperties }],
    entries,
  );
  const apply = (kept: TopicFilterEntry[]) =>
    finish(
      ch,
      p,
      p.topics.filter((t) => kept.some((k) => k.topic === t)),
    );
  if (r instanceof Promise) return r.then(apply);
  apply(r);
}

function finish(ch: MqttClient, p: UnsubscribePacket, allowed: string[]): void {
  const cfg = ch.host.mqtt;
  const c = ch.host.broker.metrics.c;
  const session = ch.session!;
  const codes = p.topics.map((topic) => {
    if (!allowed.includes(topic)) return RC.UNSPECIFIED_ERROR;
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed === 'string') return RC.TOPIC_FILTER_INVALID;
    if (
      topicFilterError(parsed.filter, { maxLevels: cfg.max_topic_levels, maxLength: cfg.max_topic_length })
    ) {
      return RC.TOPIC_FILTER_INVALID;
    }
    const stored = joinShare(mount(ch.clientInfo.mountpoint, parsed.filter), parsed.group);
    if (!ch.host.broker.unsubscribe(session, stored)) return RC.NO_SUBSCRIPTION_EXISTED;
    c['client.unsubscribe']++;
    return RC.SUCCESS;
  });
  const failed = codes.flatMap((rc, i) => (rc >= 0x80 ? [`${p.topics[i]}: ${reasonName(rc)}`] : []));
  if (failed.length > 0) c['packets.unsubscribe.error']++;
  const properties = failed.length > 0 ? ch.reasonString(failed.join('; ')) : undefined;
  ch.send({ cmd: 'unsuback', packetId: p.packetId, reasonCodes: ch.version === 5 ? codes : [], properties });
  c['packets.unsuback.sent']++;
}
