/**
 * The figures of EMQX's recon commands, answered with what Node and V8 measure:
 * - memory: the process's memory by kind (recon_alloc:memory's used / allocated / unused / usage);
 * - allocated: V8's heap spaces, current and peak sizes (the allocator view);
 * - bin_leak: what a forced full GC frees, external and ArrayBuffer memory first (Erlang's refc binaries
 *   are Node's Buffers: memory that lives outside the JS heap and is freed only with its owner);
 * - node_stats: samples of event loop delay and utilization, CPU, memory and active handles.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

const MB = 1024 * 1024;
const round = (n) => Math.round(n * 1000) / 1000;

/** Memory by kind, in bytes. */
export function memory() {
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const used = m.heapUsed + m.external;
  return {
    rss: m.rss,
    heap_total: m.heapTotal,
    heap_used: m.heapUsed,
    external: m.external,
    array_buffers: m.arrayBuffers,
    heap_size_limit: h.heap_size_limit,
    malloced_memory: h.malloced_memory,
    peak_malloced_memory: h.peak_malloced_memory,
    native_contexts: h.number_of_native_contexts,
    detached_contexts: h.number_of_detached_contexts,
    // recon_alloc:memory's summary: what is in use, what the process holds, the ratio of the two.
    used,
    allocated: m.rss,
    unused: Math.max(0, m.rss - used),
    usage: m.rss > 0 ? round(used / m.rss) : 0,
  };
}

/** V8's heap spaces: current size, used, available and physical bytes, plus the heap's peaks. */
export function allocated() {
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics())
    spaces[s.space_name] = {
      size: s.space_size,
      used: s.space_used_size,
      available: s.space_available_size,
      physical: s.physical_space_size,
    };
  const h = v8.getHeapStatistics();
  return {
    spaces,
    current: { total: h.total_heap_size, used: h.used_heap_size, malloced: h.malloced_memory },
    max: { limit: h.heap_size_limit, peak_malloced: h.peak_malloced_memory },
  };
}

let gcFn;

/**
 * A function forcing a full GC. `global.gc` exists only with --expose-gc; without it the flag is turned
 * on just long enough to fetch `gc` from a new V8 context, then off again.
 */
function forceGc() {
  if (gcFn === undefined) {
    if (typeof globalThis.gc === 'function') gcFn = globalThis.gc;
    else {
      v8.setFlagsFromString('--expose-gc');
      try {
        gcFn = vm.runInNewContext('gc');
      } finally {
        v8.setFlagsFromString('--no-expose-gc');
      }
    }
  }
  gcFn();
}

/** Memory before and after a forced full GC, and what it freed, by kind. */
export function binLeak() {
  const pick = (m) => ({
    heap_used: m.heapUsed,
    external: m.external,
    array_buffers: m.arrayBuffers,
    rss: m.rss,
  });
  const before = pick(process.memoryUsage());
  // V8 sweeps dead ArrayBuffers on a background thread after the GC, so one GC can return before their
  // bytes leave the counters (a CI run saw 0 freed); the second GC waits for that sweep to finish.
  forceGc();
  forceGc();
  const after = pick(process.memoryUsage());
  const freed = {};
  for (const k of Object.keys(before)) freed[k] = before[k] - after[k];
  return { before, after, freed };
}

/** Counts of the active libuv handles and requests by type (sockets are TCPSocketWrap / TLSSocket…). */
function handles() {
  const out = {};
  for (const t of process.getActiveResourcesInfo()) out[t] = (out[t] ?? 0) + 1;
  return out;
}

/**
 * `samples` samples, `intervalMs` apart: event loop delay percentiles (ms) and utilization over the
 * interval, CPU seconds used, memory and active handles. Resolves when the last sample is taken.
 */
export function nodeStats(samples, intervalMs, setTimer) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let elu = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  const out = [];
  return new Promise((resolve) => {
    const take = () => {
      const eluNow = performance.eventLoopUtilization(elu);
      const cpuNow = process.cpuUsage(cpu);
      const m = process.memoryUsage();
      out.push({
        event_loop_delay_ms: {
          p50: round(h.percentile(50) / 1e6),
          p99: round(h.percentile(99) / 1e6),
          max: round(h.max / 1e6),
        },
        event_loop_utilization: round(eluNow.utilization),
        cpu_user_s: round(cpuNow.user / 1e6),
        cpu_system_s: round(cpuNow.system / 1e6),
        rss_mb: round(m.rss / MB),
        heap_used_mb: round(m.heapUsed / MB),
        handles: handles(),
      });
      h.reset();
      elu = performance.eventLoopUtilization();
      cpu = process.cpuUsage();
      if (out.length >= samples) {
        h.disable();
        resolve(out);
      } else setTimer(take, intervalMs);
    };
    setTimer(take, intervalMs);
  });
}
