/**
 * Shared pieces of the fuzz tests: run counts (short in `npm test`, long behind HERMOD_FUZZ_RUNS), byte
 * mutations of valid frames, random chunking of a stream, and the "a normal client still gets through"
 * round trip run after every socket batch.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { collect, connectClient } from '../helpers/clients.js';

/** Runs per property when HERMOD_FUZZ_RUNS is set (nightly), else each property's own short count. */
const LONG_RUNS = Number(process.env.HERMOD_FUZZ_RUNS ?? '') || 0;
/** A fixed seed reproduces a whole run (fast-check prints the seed and path of any failure). */
const SEED = process.env.HERMOD_FUZZ_SEED === undefined ? undefined : Number(process.env.HERMOD_FUZZ_SEED);

/** Runs of a property: `quick` in the normal suite, HERMOD_FUZZ_RUNS when set. */
export function runs(quick: number): number {
  return LONG_RUNS > 0 ? LONG_RUNS : quick;
}

/** Socket batches scale more slowly than pure properties: each case costs real I/O. */
export function socketRuns(quick: number): number {
  return LONG_RUNS > 0 ? Math.max(quick, Math.ceil(LONG_RUNS / 20)) : quick;
}

/** fast-check parameters for a property with `quick` runs. */
export function params(quick: number): fc.Parameters<unknown> {
  return { numRuns: runs(quick), includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) };
}

/** Parameters for an async socket property (fewer runs, no shrinking spiral on a live server). */
export function socketParams(quick: number): fc.Parameters<unknown> {
  return {
    numRuns: socketRuns(quick),
    endOnFailure: true,
    includeErrorInReport: true,
    ...(SEED === undefined ? {} : { seed: SEED }),
  };
}

/** One edit of a byte string. Positions are taken modulo the length at the time of the edit. */
export type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; count: number };

/** Bytes that sit on boundaries of the formats: length bits, NUL, LF, CR, ':', '\\', 0x7f/0x80, 0xff. */
const EDGE_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x3a, 0x5c, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...EDGE_BYTES));

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: byteArb }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

/** 1 to 4 edits. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

/** Applies the edits in order to a copy of `input`. */
export function mutate(input: Uint8Array, edits: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of edits) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ m.mask;
        break;
      case 'set':
        if (b.length > 0) b[at] = m.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      case 'truncate':
        b = Buffer.from(b.subarray(0, at));
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.count), b.subarray(at)]);
        break;
    }
  }
  return b;
}

/** Chunk sizes for splitting a stream: used cyclically, so a short list still covers a long stream. */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 1, max: 64 }), {
  minLength: 1,
  maxLength: 12,
});

/** Splits `bytes` into chunks of the given sizes (cycled); every chunk is a fresh copy. */
export function chunk(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (let i = 0; pos < bytes.length; i++) {
    const n = cuts[i % cuts.length]!;
    out.push(Buffer.from(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  return out;
}

/** Raw random bytes, biased towards short inputs and boundary values. */
export const bytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 512 }),
  fc.array(byteArb, { maxLength: 64 }).map((a) => Uint8Array.from(a)),
);

/** Calls `f`; fails the property with the exception when one escapes. */
export function noThrow<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    assert.fail(`${what} threw: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/** Connects mqtt.js, subscribes, publishes at QoS 1 and waits for its own message: the broker still serves. */
export async function mqttRoundTrip(port: number, tag: string): Promise<void> {
  const c = await connectClient(port, { protocolVersion: 5 });
  try {
    const got = collect(c);
    const topic = `fuzz/alive/${tag}`;
    await c.subscribeAsync(topic, { qos: 1 });
    await c.publishAsync(topic, `still here ${tag}`, { qos: 1 });
    const [m] = await got.next(1);
    assert.equal(m!.payload.toString(), `still here ${tag}`);
  } finally {
    await c.endAsync();
  }
}
