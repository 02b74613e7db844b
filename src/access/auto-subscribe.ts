/**
 * Subscriptions made for a client when it connects (EMQX 5 `auto_subscribe`, EMQX 4.x
 * `emqx_mod_subscription`), from two places: the fixed `auto_subscribe.topics` list, whose topics may hold
 * `${clientid}`, `${username}`, `${host}`, `${port}` (or 4.x's `%c`, `%u`), and a Redis hash of topic → QoS
 * per user (`HGETALL mqtt_subs:%u`, EMQX 2.x/3.x's Redis plugin). A topic whose placeholder has no value
 * (no username) is skipped. The subscriptions are made as the API makes them: mountpoint applied,
 * session.subscribed run, retained messages delivered, no authorization check (the operator chose them).
 *
 * Only MQTT clients get them: a gateway's topics need the gateway's own registration (MQTT-SN topic ids).
 * The hook is registered only while something is configured, so a node without it pays nothing.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { Broker } from '../broker/broker.js';
import { HookPriority } from '../broker/hooks.js';
import { clientLookup } from '../broker/placeholders.js';
import { joinShare, mount, parseSubscriptionTopic, topicFilterError } from '../broker/topic.js';
import type { ClientInfo, QoS, SubOpts } from '../broker/types.js';
import type { AutoSubscribeSchema } from '../config/schema/auto-subscribe.js';
import { logger } from '../log.js';
import type { RedisClient, RedisConfig } from './resources/redis.js';
import { parseRedisCommand, type RedisCommand } from './resources/redis-command.js';
import { checkConfig, redisFields } from './schema-parts.js';
import { type Lookup, Template } from './template.js';

export type AutoSubscribeConfig = Static<typeof AutoSubscribeSchema>;

const RedisSubsSchema = Type.Object(
  {
    enable: Type.Boolean({ default: true }),
    ...redisFields,
    cmd: Type.String({ minLength: 1, default: 'HGETALL mqtt_subs:${username}' }),
  },
  { additionalProperties: false },
);

interface TopicTemplate {
  topic: Template;
  opts: SubOpts;
}

/** The values a topic may use: the client's fields, plus EMQX 5's `host` and `port` of the peer. */
function topicLookup(ci: ClientInfo): Lookup {
  const base = clientLookup(ci);
  return (name) => {
    if (name === 'host') return ci.peerhost;
    if (name === 'port') return String(ci.peerport);
    return base(name);
  };
}

/** A subscription topic's problem, or undefined when it can be subscribed. */
function topicError(topic: string): string | undefined {
  const parsed = parseSubscriptionTopic(topic);
  if (typeof parsed === 'string') return parsed;
  return topicFilterError(parsed.filter) ?? undefined;
}

/** Reads a Redis HGETALL reply (flat array) as topic → QoS; values other than 0, 1, 2 are skipped. */
export function redisSubscriptions(reply: unknown): Array<[string, QoS]> {
  const out: Array<[string, QoS]> = [];
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const qos = Number(String(reply[i + 1]).trim());
    if (qos === 0 || qos === 1 || qos === 2) out.push([String(reply[i]), qos]);
  }
  return out;
}

export class AutoSubscriber {
  private templates: TopicTemplate[] = [];
  private redis: { client: RedisClient; cmd: RedisCommand } | undefined;
  private off: (() => void) | undefined;

  constructor(private readonly broker: Broker) {}

  /** Takes a (new) config; throws with a precise message when the Redis block or a topic is invalid. */
  async apply(cfg: AutoSubscribeConfig): Promise<void> {
    const templates = cfg.topics.map((t) => {
      const topic = new Template(t.topic);
      // Check the fixed shape now, with a stand-in for each placeholder.
      const err = topicError(topic.text(() => 'x'));
      if (err !== undefined) throw new Error(`auto_subscribe: invalid topic ${t.topic}: ${err}`);
      return {
        topic,
        opts: { qos: t.qos as QoS, nl: t.nl as 0 | 1, rap: t.rap as 0 | 1, rh: t.rh as 0 | 1 | 2 },
      };
    });
    let redis: AutoSubscriber['redis'];
    if (cfg.redis !== undefined) {
      const checked = checkConfig(RedisSubsSchema, cfg.redis);
      if (typeof checked === 'string') throw new Error(`auto_subscribe.redis: ${checked}`);
      const rc = checked.decoded as RedisConfig & { enable: boolean; cmd: string };
      if (rc.enable) {
        const cmd = parseRedisCommand(rc.cmd, ['HGETALL']);
        const { RedisClient } = await import('./resources/redis.js');
        redis = { client: new RedisClient(rc), cmd };
      }
    }
    this.stop();
    this.templates = templates;
    this.redis = redis;
    if (templates.length > 0 || redis !== undefined)
      this.off = this.broker.hooks.add(
        'client.connected',
        (ci) => this.connected(ci),
        HookPriority.AUTO_SUB,
        'auto_subscribe',
      );
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
    this.redis?.client.close();
    this.redis = undefined;
  }

  private connected(ci: ClientInfo): undefined {
    if (ci.protocol !== 'mqtt') return undefined;
    const lookup = topicLookup(ci);
    for (const t of this.templates) {
      // A placeholder without a value (no username) skips the topic rather than subscribing to a hole.
      const topic = t.topic.render(lookup, undefined, () => undefined);
      if (topic !== undefined) this.subscribe(ci, topic, t.opts);
    }
    const redis = this.redis;
    if (redis === undefined) return undefined;
    // Not awaited: the connect path never waits for Redis; the subscriptions follow when it answers.
    redis.client.run(redis.cmd, lookup).then(
      (reply) => {
        for (const [topic, qos] of redisSubscriptions(reply))
          this.subscribe(ci, topic, { qos, nl: 0, rap: 0, rh: 0 });
      },
      (err: unknown) =>
        logger.warn(
          { clientid: ci.clientid, err: (err as Error).message },
          'auto_subscribe: redis lookup failed',
        ),
    );
    return undefined;
  }

  private subscribe(ci: ClientInfo, topic: string, opts: SubOpts): void {
    const err = topicError(topic);
    if (err !== undefined) {
      logger.warn({ clientid: ci.clientid, topic, reason: err }, 'auto_subscribe: topic skipped');
      return;
    }
    // The session the client has now (it may have gone while Redis answered).
    const session = this.broker.sessionOf(ci);
    if (session === undefined) return;
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed === 'string') return;
    this.broker.subscribe(session, joinShare(mount(ci.mountpoint, parsed.filter), parsed.group), opts);
  }
}
