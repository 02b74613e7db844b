/**
 * Broker counters (EMQX `emqx_metrics` names) and gauges (EMQX `emqx_stats` names). Counters are fields
 * of one plain object so the hot path increments them with a constant-key property access.
 */

/** Every counter, named as in EMQX's /api/v5/metrics (Hermod additions are marked). */
export const METRIC_NAMES = [
  'bytes.received',
  'bytes.sent',
  'packets.received',
  'packets.sent',
  'packets.connect.received',
  'packets.connack.sent',
  'packets.connack.error',
  'packets.connack.auth_error',
  'packets.publish.received',
  'packets.publish.sent',
  'packets.publish.inuse',
  'packets.publish.error',
  'packets.publish.auth_error',
  'packets.publish.dropped',
  'packets.puback.received',
  'packets.puback.sent',
  'packets.puback.inuse',
  'packets.puback.missed',
  'packets.pubrec.received',
  'packets.pubrec.sent',
  'packets.pubrec.inuse',
  'packets.pubrec.missed',
  'packets.pubrel.received',
  'packets.pubrel.sent',
  'packets.pubrel.missed',
  'packets.pubcomp.received',
  'packets.pubcomp.sent',
  'packets.pubcomp.inuse',
  'packets.pubcomp.missed',
  'packets.subscribe.received',
  'packets.subscribe.error',
  'packets.subscribe.auth_error',
  'packets.suback.sent',
  'packets.unsubscribe.received',
  'packets.unsubscribe.error',
  'packets.unsuback.sent',
  'packets.pingreq.received',
  'packets.pingresp.sent',
  'packets.disconnect.received',
  'packets.disconnect.sent',
  'packets.auth.received',
  'packets.auth.sent',
  /** Hermod: frames refused by the codec (malformed, protocol error). */
  'packets.malformed',
  /** Hermod: incoming packets above max_packet_size. */
  'packets.too_large',
  'messages.received',
  'messages.sent',
  'messages.qos0.received',
  'messages.qos0.sent',
  'messages.qos1.received',
  'messages.qos1.sent',
  'messages.qos2.received',
  'messages.qos2.sent',
  'messages.publish',
  'messages.dropped',
  'messages.dropped.await_pubrel_timeout',
  'messages.dropped.no_subscribers',
  'messages.dropped.quota_exceeded',
  'messages.dropped.receive_maximum',
  'messages.forward',
  'messages.delayed',
  'messages.delivered',
  'messages.acked',
  'messages.retained',
  'messages.persisted',
  'delivery.dropped',
  'delivery.dropped.no_local',
  'delivery.dropped.too_large',
  'delivery.dropped.qos0_msg',
  'delivery.dropped.queue_full',
  'delivery.dropped.expired',
  'client.connect',
  'client.connack',
  'client.connected',
  'client.authenticate',
  'client.auth.anonymous',
  'client.authorize',
  'client.subscribe',
  'client.unsubscribe',
  'client.disconnected',
  /** Hermod: connections refused by listener max_connections. */
  'client.max_connections_exceeded',
  /** Hermod: connections closed for keepalive timeout. */
  'client.keepalive_timeout',
  'session.created',
  'session.resumed',
  'session.takenover',
  'session.discarded',
  'session.terminated',
  'authorization.allow',
  'authorization.deny',
  'authorization.cache_hit',
  'authorization.cache_miss',
  'authorization.superuser',
  'authorization.nomatch',
  'authorization.matched.allow',
  'authorization.matched.deny',
  'authentication.success',
  'authentication.success.anonymous',
  'authentication.failure',
  'overload_protection.delay.ok',
  'overload_protection.delay.timeout',
  'overload_protection.hibernation',
  'overload_protection.gc',
  'overload_protection.new_conn',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
export type Counters = Record<MetricName, number>;

/** Gauges with their high-water marks, named as EMQX stats. */
export const STAT_NAMES = [
  'connections',
  'live_connections',
  'channels',
  'sessions',
  'topics',
  'subscribers',
  'suboptions',
  'subscriptions',
  'subscriptions.shared',
  'retained',
  'delayed',
] as const;

export type StatName = (typeof STAT_NAMES)[number];

export class Metrics {
  /** Increment with `metrics.c['messages.received']++`: no lookup beyond an inline-cached property. */
  readonly c: Counters;
  private readonly gauges = new Map<StatName, { count: number; max: number }>();

  constructor() {
    // Built in one go, not by `c[n] = 0` in a loop: adding ~100 properties one keyed store at a time turns the
    // object into a hash table ("dictionary mode"), and every `c['…']++` in the broker then costs a hash
    // lookup, ~40 ns against ~3 ns on a fast-properties object (micro-benchmark, Node 20, 2026-12-04).
    this.c = Object.fromEntries(METRIC_NAMES.map((n) => [n, 0])) as Counters;
    for (const n of STAT_NAMES) this.gauges.set(n, { count: 0, max: 0 });
  }

  inc(name: MetricName, by = 1): void {
    this.c[name] += by;
  }

  /** Sets a gauge, raising its max when needed. */
  setStat(name: StatName, value: number): void {
    const g = this.gauges.get(name)!;
    g.count = value;
    if (value > g.max) g.max = value;
  }

  addStat(name: StatName, delta: number): void {
    const g = this.gauges.get(name)!;
    g.count += delta;
    if (g.count > g.max) g.max = g.count;
  }

  stat(name: StatName): { count: number; max: number } {
    return this.gauges.get(name)!;
  }

  /** Counters as an object with EMQX names (for /api/v5/metrics). */
  snapshot(): Record<string, number> {
    return { ...this.c };
  }

  /** Gauges as EMQX's flat `a.b.count` / `a.b.max` object (for /api/v5/stats). */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, g] of this.gauges) {
      out[`${name}.count`] = g.count;
      out[`${name}.max`] = g.max;
    }
    return out;
  }
}
