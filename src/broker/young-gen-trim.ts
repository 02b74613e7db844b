/**
 * Gives the young generation that a burst grew back to the system once the process has gone quiet.
 *
 * A burst of work (19 000 CONNECTs in S4, a publish flood) makes V8 grow its new space to 2 × 16 MiB, and
 * while the burst runs every page of both semi-spaces gets touched: ~32 MB of RSS, 1.7 KB per connection
 * of a 19 000-client fleet. V8 (Node 20) shrinks new space back to 2 × 1 MiB only at a GC that finds the
 * allocation rate low: new-space allocation plus promotion under 1 000 B/ms over GC-to-GC samples covering
 * the last 5 s. An idle broker allocates a few bytes per ms, so its next scavenge, and the shrink, comes only
 * minutes later (a 16 MiB semi-space fills at that rate in minutes).
 *
 * So once a second this looks at the new space. When it is grown and nothing scavenged for SETTLE_MS with
 * the event loop quiet, it runs a scavenge: that one moves the burst's last survivors (~10 MB of live
 * connection objects at 10 000 clients) to the old generation, and V8 counts the promotion as allocation,
 * so it does not shrink yet. After QUIET_MS more of quiet a second scavenge finds almost nothing to do
 * (<1 ms) and V8 shrinks: ~10 s after the burst instead of minutes (measured with bench/conn-memory.ts
 * --no-gc --settle, 2026-12-04). Any scavenge of V8's own restarts the wait, and a loaded broker scavenges
 * many times a second, so it never fires under load.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

const CHECK_MS = 1000;
/** Quiet time after a burst before the scavenge that promotes its survivors. */
const SETTLE_MS = 2000;
/** V8 averages the allocation rate over GC samples covering at least 5 s; one sample longer than that counts alone. */
const QUIET_MS = 6000;
/** Scavenges in a row that did not shrink, after which only a scavenge of V8's own re-arms this. */
const MAX_TRIES = 4;
/** Half V8's 1 000 B/ms "low allocation throughput", so the scavenge is not wasted on a rate V8 rejects. */
const QUIET_RATE = 500;
/** Event-loop busy share in a check interval above which the process is not quiet, whatever the heap says. */
const QUIET_ELU = 0.05;
/** V8's new space starts at 2 × 1 MiB on 64-bit; below this there is nothing worth giving back. */
const GROWN_BYTES = 4 * 2 ** 20;

interface NewSpace {
  size: number;
  used: number;
}

function newSpace(): NewSpace {
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return { size: s.space_size, used: s.space_used_size };
  }
  return { size: 0, used: 0 };
}

/**
 * A young-generation GC. Node exposes none without --expose-gc: the flag is turned on just long enough to
 * take the `gc` function from a fresh context, so no other context (or plugin) sees a global `gc`.
 */
function scavenger(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: (minor: boolean) => void }).gc;
  if (exposed !== undefined) return () => exposed(true);
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as (minor: boolean) => void;
    v8.setFlagsFromString('--no-expose-gc');
    // A truthy argument without options is a minor (young-generation) GC.
    return () => gc(true);
  } catch {
    return undefined;
  }
}

class YoungGenTrim {
  private holders = 0;
  private timer: NodeJS.Timeout | undefined;
  private gc: (() => void) | undefined;
  private quietSince = 0;
  private elu = performance.eventLoopUtilization();
  private usedAtQuiet = 0;
  private lastUsed = 0;
  /** Scavenges run since V8's last own scavenge; the first promotes the burst's survivors. */
  private tries = 0;
  /** Scavenges this module ran. */
  scavenges = 0;

  hold(): void {
    if (this.holders++ > 0) return;
    this.gc ??= scavenger();
    if (this.gc === undefined) return;
    this.elu = performance.eventLoopUtilization();
    this.restart(newSpace().used);
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  release(): void {
    if (this.holders === 0 || --this.holders > 0) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private restart(used: number): void {
    this.quietSince = performance.now();
    this.usedAtQuiet = used;
    this.lastUsed = used;
  }

  private check(): void {
    const s = newSpace();
    const elu = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(elu, this.elu).utilization;
    this.elu = elu;
    // Used bytes only go down at a scavenge: one of V8's own restarts the count.
    if (s.used < this.lastUsed) this.tries = 0;
    if (s.used < this.lastUsed || s.size <= GROWN_BYTES || busy >= QUIET_ELU) {
      this.restart(s.used);
      return;
    }
    this.lastUsed = s.used;
    if (this.tries >= MAX_TRIES) return;
    const quietMs = performance.now() - this.quietSince;
    if (quietMs < (this.tries === 0 ? SETTLE_MS : QUIET_MS)) return;
    if ((s.used - this.usedAtQuiet) / quietMs >= QUIET_RATE) {
      this.restart(s.used);
      return;
    }
    this.gc!();
    this.scavenges++;
    this.tries++;
    this.restart(newSpace().used);
  }
}

/** One per process: V8's heap is per isolate, however many nodes a process runs. */
export const youngGenTrim = new YoungGenTrim();
