/**
 * Per-gateway counters (EMQX `emqx_gateway_metrics`): traffic, logins, refusals. Broker-wide counters
 * (messages.publish, session.*) stay in the node's Metrics; these say which gateway the traffic came through.
 */
import { GATEWAY_METRIC_NAMES, type GatewayMetricName, type GatewayMetricsSink } from './types.js';

/** One gateway's counters. */
export class GatewayMetrics implements GatewayMetricsSink {
  private readonly c = new Map<GatewayMetricName, number>(GATEWAY_METRIC_NAMES.map((n) => [n, 0]));

  /** Adds to a counter. */
  inc(name: GatewayMetricName, by = 1): void {
    this.c.set(name, (this.c.get(name) ?? 0) + by);
  }

  /** One counter's value. */
  get(name: GatewayMetricName): number {
    return this.c.get(name) ?? 0;
  }

  /** Every counter by name (for the API and `gateway-metrics`). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.c);
  }
}
