/**
 * The benchmark scenarios, as data shared by the orchestrator (what to run, how to report it) and
 * the load generator (what traffic to make). One scenario (S1…S6) has one or more variants; a variant is
 * the unit that runs against a fresh broker process.
 */

/** Limits every broker gets, so no broker drops messages the others would keep (see brokers.ts). */
export const LIMITS = {
  /** Outgoing QoS 1/2 window per session (Hermod mqtt.max_inflight, Mosquitto max_inflight_messages). */
  maxInflight: 32,
  /**
   * Queue per session (Hermod mqtt.max_mqueue_len, Mosquitto max_queued_messages). The load generator's
   * end-to-end window bounds any queue to ≤ 32 000 messages, so this limit never drops in a correct run.
   */
  maxQueued: 100_000,
} as const;

/** Per-client window of the load generator: unacknowledged PUBLISHes and messages not yet delivered. */
export const CLIENT_WINDOW = Number(process.env.BENCH_WINDOW ?? 32);

/** Payload bytes of every benchmark message: publisher index, sequence number, send timestamp, filler. */
export const PAYLOAD_BYTES = 64;

export type QoS = 0 | 1 | 2;

/** Publish/subscribe traffic: who publishes where, who subscribes to what. */
export interface TrafficSpec {
  kind: 'traffic';
  publishers: number;
  subscribers: number;
  qos: QoS;
  /** Topic pattern: 'p2p' (publisher i → topic i → subscriber i), 'fanout' (one topic), 'fanin' (topic per publisher, one wildcard filter). */
  pattern: 'p2p' | 'fanout' | 'fanin';
  /** Subscribers form one shared-subscription group (fan-in only). */
  shared?: boolean;
  /**
   * Publish at a set rate instead of as fast as possible: a fraction of the broker's own maximum rate in
   * variant `rateOf`, or the same fixed rate (msgs/s) for every broker.
   */
  paced?: { fraction: number; rateOf: string } | { fixed: number };
}

export interface ConnectionsSpec {
  kind: 'connections';
  connections: number;
  /** Handshakes kept in flight, one pass each (the best rate counts; memory is taken after the first). */
  concurrency: number[];
}

export interface RetainedSpec {
  kind: 'retained';
  /** Retained topics stored first (bench/ret/<a>/<b>). */
  topics: number;
  /** Subscribers, subscriber j to bench/ret/<j>/+ (topics/subscribers retained messages each). */
  subscribers: number;
  /** Publishers storing the retained messages in parallel. */
  publishers: number;
}

export type Spec = TrafficSpec | ConnectionsSpec | RetainedSpec;

export interface Variant {
  /** e.g. 'S1.qos1' */
  id: string;
  scenario: string;
  title: string;
  spec: Spec;
  /** What this variant's ratio compares, when not the scenario's primary metric. */
  primary?: { metric: PrimaryMetric; label: string };
  /** Reported for information only: outside the benchmark goals. */
  extraView?: boolean;
}

export interface Scenario {
  id: string;
  title: string;
  /** What the ratio compares, and which way is better. */
  primary: { metric: PrimaryMetric; label: string };
  variants: Variant[];
}

/** Result fields a ratio can be taken on; 'higher' metrics are better when larger. */
export type PrimaryMetric = 'outRate' | 'connRate' | 'deliverySeconds' | 'p99' | 'cpuPerMessage';

export const LOWER_IS_BETTER: ReadonlySet<PrimaryMetric> = new Set([
  'deliverySeconds',
  'p99',
  'cpuPerMessage',
]);

function traffic(
  scenario: string,
  name: string,
  title: string,
  spec: Omit<TrafficSpec, 'kind'>,
  extra: Pick<Variant, 'primary' | 'extraView'> = {},
): Variant {
  return { id: `${scenario}.${name}`, scenario, title, spec: { kind: 'traffic', ...spec }, ...extra };
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'S1',
    title: 'Point-to-point: 100 publishers ↔ 100 subscribers, 64 B',
    primary: { metric: 'outRate', label: 'deliveries/s' },
    variants: ([0, 1, 2] as const).map((qos) =>
      traffic('S1', `qos${qos}`, `S1 point-to-point QoS ${qos}`, {
        publishers: 100,
        subscribers: 100,
        qos,
        pattern: 'p2p',
      }),
    ),
  },
  {
    id: 'S2',
    title: 'Fan-out: 1 publisher → 1 000 subscribers',
    primary: { metric: 'outRate', label: 'deliveries/s' },
    variants: ([0, 1] as const).map((qos) =>
      traffic('S2', `qos${qos}`, `S2 fan-out QoS ${qos}`, {
        publishers: 1,
        subscribers: 1000,
        qos,
        pattern: 'fanout',
      }),
    ),
  },
  {
    id: 'S3',
    title: 'Fan-in: 1 000 publishers → 1 subscriber / 10 shared-subscription members (QoS 1)',
    primary: { metric: 'outRate', label: 'deliveries/s' },
    variants: [
      traffic('S3', 'single', 'S3 fan-in → 1 subscriber', {
        publishers: 1000,
        subscribers: 1,
        qos: 1,
        pattern: 'fanin',
      }),
      traffic('S3', 'shared', 'S3 fan-in → $share group of 10', {
        publishers: 1000,
        subscribers: 10,
        qos: 1,
        pattern: 'fanin',
        shared: true,
      }),
      // Not a benchmark goal: saturated fan-in rates depend on how many messages each publisher read carries, which
      // the broker's own delivery order feeds back into. At one fixed rate, with one message per publisher
      // write as devices send, the broker's CPU per message compares the brokers' cost directly.
      traffic(
        'S3',
        'fixed30k',
        'S3 fan-in → $share group of 10 at 30 000 msgs/s for all',
        {
          publishers: 1000,
          subscribers: 10,
          qos: 1,
          pattern: 'fanin',
          shared: true,
          paced: { fixed: 30_000 },
        },
        { primary: { metric: 'cpuPerMessage', label: 'broker CPU µs per message' }, extraView: true },
      ),
    ],
  },
  {
    id: 'S4',
    title: 'Connections: 19 000 idle connections',
    primary: { metric: 'connRate', label: 'connections/s' },
    variants: [
      {
        id: 'S4.idle',
        scenario: 'S4',
        title: 'S4 19 000 idle connections',
        spec: { kind: 'connections', connections: 19_000, concurrency: [256, 64, 1024] },
      },
    ],
  },
  {
    id: 'S5',
    title: 'Retained: 100 000 retained topics, then 100 wildcard subscribers',
    primary: { metric: 'deliverySeconds', label: 's until all delivered' },
    variants: [
      {
        id: 'S5.retained',
        scenario: 'S5',
        title: 'S5 100 000 retained → 100 wildcard subscribers',
        spec: { kind: 'retained', topics: 100_000, subscribers: 100, publishers: 10 },
      },
    ],
  },
  {
    id: 'S6',
    title: 'Latency: S1 QoS 1 traffic at half of each broker’s own maximum rate',
    primary: { metric: 'p99', label: 'p99 latency' },
    variants: [
      traffic('S6', 'half', 'S6 latency at 50 % of max (S1 QoS 1)', {
        publishers: 100,
        subscribers: 100,
        qos: 1,
        pattern: 'p2p',
        paced: { fraction: 0.5, rateOf: 'S1.qos1' },
      }),
      // Not a benchmark goal: the same traffic at one rate every broker sustains, so latencies compare at equal load.
      traffic(
        'S6',
        'fixed20k',
        'S6 latency at 20 000 msgs/s for all (S1 QoS 1)',
        {
          publishers: 100,
          subscribers: 100,
          qos: 1,
          pattern: 'p2p',
          paced: { fixed: 20_000 },
        },
        { extraView: true },
      ),
    ],
  },
];

export const ALL_VARIANTS: Variant[] = SCENARIOS.flatMap((s) => s.variants);

/** Variants selected by ids such as 'S1', 'S1.qos1', 's2' (case-insensitive); empty selects all. */
export function selectVariants(ids: string[]): Variant[] {
  if (ids.length === 0) return ALL_VARIANTS;
  const want = ids.map((s) => s.toLowerCase());
  const out = ALL_VARIANTS.filter((v) =>
    want.some((w) => w === v.id.toLowerCase() || w === v.scenario.toLowerCase()),
  );
  const unknown = want.filter(
    (w) => !ALL_VARIANTS.some((v) => w === v.id.toLowerCase() || w === v.scenario.toLowerCase()),
  );
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${ALL_VARIANTS.map((v) => v.id).join(', ')}`,
    );
  }
  return out;
}
