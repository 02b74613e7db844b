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

const sharedIndex = (o: SubOpts): number => o.qos + 3 * o.nl + 6 * o.rap + 12 * o.rh;

/** The options of a subscription: a shared frozen object unless it carries a subscription identifier. */
export function subOpts(qos: QoS, nl: 0 | 1, rap: 0 | 1, rh: 0 | 1 | 2, subid?: number): SubOpts {
  if (subid !== undefined) return { qos, nl, rap, rh, subid };
  return SHARED[qos + 3 * nl + 6 * rap + 12 * rh]!;
}

/** Each shared object's `is_new: false` and `is_new: true` variants, frozen too. */
const SHARED_WITH_IS_NEW: readonly (readonly [SubOpts, SubOpts])[] = SHARED.map((o) => [
  Object.freeze({ ...o, is_new: false }),
  Object.freeze({ ...o, is_new: true }),
]);

/**
 * `opts` with `is_new`, as session.subscribed gets them. A fresh object unless `shared` is allowed (every
 * listener only reads them) and `opts` is one of the shared objects: then one shared frozen variant. Copying
 * a frozen object takes Object.assign's slow per-property path: the variant cut the broker's main thread
 * from ~9 300 to ~8 000 instructions per SUBSCRIBE filter (callgrind, bench subscribe pattern, 10 k filters
 * a round, rounds 2–5 of one process, 2026-12-05).
 */
export function withIsNew(opts: SubOpts, isNew: boolean, shared: boolean): SubOpts {
  if (shared) {
    const i = sharedIndex(opts);
    if (SHARED[i] === opts) return SHARED_WITH_IS_NEW[i]![isNew ? 1 : 0];
  }
  // Object.assign, not a spread with an added key: see Broker.addSubscription.
  return Object.assign({}, opts, { is_new: isNew });
}
