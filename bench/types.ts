/** What the orchestrator hands the load generator, and what comes back. */
import type { LatencySummary } from './loadgen/histogram.js';
import type { Variant } from './scenarios.js';

export interface Job {
  broker: string;
  variant: Variant;
  host: string;
  port: number;
  /** The broker process, for CPU and RSS sampling. */
  brokerPid: number;
  warmupSeconds: number;
  measureSeconds: number;
  /** Paced variants: messages/s to publish in total. */
  rate?: number;
  /** The cores the broker and the load generator are pinned to. */
  cores: { broker: number; loader: number };
}

export type Status = 'ok' | 'failed' | 'unsupported' | 'error';

export interface RunResult {
  broker: string;
  variant: string;
  scenario: string;
  status: Status;
  /** Why the run failed (correctness or errors); empty when ok. */
  problems: string[];
  /** Observations that do not fail the run (QoS 0 drops, QoS 1 duplicates, paced rate). */
  notes: string[];
  /** Length of the measured window, s. */
  seconds: number;
  /** PUBLISHes sent by the load generator per second (in) and deliveries received per second (out). */
  inRate?: number;
  outRate?: number;
  latency?: LatencySummary;
  /** Broker CPU, % of one core, over the measured window. */
  brokerCpu?: number;
  /** Broker RSS over the window, bytes. */
  rssAvg?: number;
  rssMax?: number;
  /** Load generator CPU, % of one core (near 100 means the loader, not the broker, is the limit). */
  loadgenCpu?: number;
  /**
   * % of the window the broker's / the load generator's core ran other processes: the numbers are disturbed
   * (the report flags runs above a few %).
   */
  brokerCoreOther?: number;
  loaderCoreOther?: number;
  /** S4 */
  connections?: number;
  connRate?: number;
  rssPerConn?: number;
  /** S4: the same, 12 s later (an idle fleet's steady cost, once transient heap is given back). */
  rssPerConnIdle?: number;
  /** S5 */
  storeRate?: number;
  deliverySeconds?: number;
  /** Paced target rate (S6). */
  targetRate?: number;
  counts?: Record<string, number>;
  /**
   * The measured phase in CLOCK_MONOTONIC µs (process.hrtime), the clock V8 CPU profiles use, so a profile
   * of the broker can be cut to exactly this phase.
   */
  windowUs?: [number, number];
  /** ISO time the run finished. */
  at?: string;
}
