/**
 * A bench-only way to ask a Node broker process for its heap after a forced garbage collection: when the
 * process was started with --expose-gc and an IPC channel (bench/brokers.ts does so for `heapProbe`), each
 * message on the channel is answered with process.memoryUsage() taken after two full collections. RSS alone
 * mixes what items cost with the free heap V8 happened to hold before the step (issue 21: a leaner start-up
 * raised "RSS per subscription" from 99 to 332 B with no change to what a subscription holds).
 *
 * Without --expose-gc or a channel (any other run) this does nothing: the broker is unchanged.
 */
export interface HeapSample {
  /** V8 heap in use (live objects after the collections). */
  heapUsed: number;
  /** Memory held by JS objects outside the V8 heap (Buffers' backing stores included). */
  external: number;
  /** Of `external`, ArrayBuffer backing stores (Buffers). */
  arrayBuffers: number;
}

export function answerHeapProbes(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined || process.send === undefined) return;
  process.on('message', () => {
    gc();
    // A second collection after a turn of the loop: weak callbacks and finalizers of the first free more.
    setTimeout(() => {
      gc();
      const mu = process.memoryUsage();
      const s: HeapSample = { heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers };
      process.send!(s);
    }, 100);
  });
  // The channel must not keep a stopping broker alive (adding the listener above referenced it).
  process.channel?.unref();
}
