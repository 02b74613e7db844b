/**
 * Subscription options as the session and the route table keep them. Without a subscription identifier
 * there are only 36 combinations, so every subscription shares one frozen object per combination instead
 * of holding its own: 100 k subscriptions kept 100 k such objects alive (56 B each, and one more object per
 * subscription for the young-generation GC to copy; bench/subscribe-rate.ts, 2026-12-04). Frozen so that
 * code changing one in place fails loudly instead of changing every subscriber's options.
 */
import type { QoS, SubOpts } from './types.js';

const SHARED: readonly SubOpts[] = (() => {
  const out: SubOpts[] = [];
  for (const rh of [0, 1, 2] as const)
    for (const rap of [0, 1] as const)
      for (const nl of [0, 1] as const)
        for (const qos of [0, 1, 2] as const) out.push(Object.freeze({ qos, nl, rap, rh }));
  return out;
})();

/** The options of a subscription: a shared frozen object unless it carries a subscription identifier. */
export function subOpts(qos: QoS, nl: 0 | 1, rap: 0 | 1, rh: 0 | 1 | 2, subid?: number): SubOpts {
  if (subid !== undefined) return { qos, nl, rap, rh, subid };
  return SHARED[qos + 3 * nl + 6 * rap + 12 * rh]!;
}
