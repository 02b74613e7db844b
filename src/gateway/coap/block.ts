/**
 * Block-wise transfers (RFC 7959): the Block1/Block2 option value, reassembly of a request body sent in
 * blocks, and slicing of a response body into blocks. Protocol-neutral (CoAP and LwM2M).
 */
import { type CoapMessage, type CoapOption, Opt, readUint, uintValue, uriPath, uriQuery } from './message.js';

/** A Block1/Block2 option: block number, more-flag, size exponent (size = 2^(szx+4), 16…1024). */
export interface Block {
  num: number;
  more: boolean;
  szx: number;
}

/** The largest block size exponent (1024 bytes); 7 is reserved (BERT, TCP only). */
export const MAX_SZX = 6;

/** Block size in bytes. */
export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

/** Decodes a block option value; undefined for a reserved size or an over-long value. */
export function decodeBlock(v: Buffer): Block | undefined {
  if (v.length > 3) return undefined;
  const n = readUint(v);
  const szx = n & 7;
  if (szx > MAX_SZX) return undefined;
  return { num: n >>> 4, more: (n & 8) !== 0, szx };
}

/** Encodes a block option value. */
export function encodeBlock(b: Block): Buffer {
  return uintValue(b.num * 16 + (b.more ? 8 : 0) + b.szx);
}

/** One block of a body, or undefined when the block starts past the end. */
export function sliceBlock(
  body: Buffer,
  num: number,
  szx: number,
): { payload: Buffer; more: boolean } | undefined {
  const size = blockSize(szx);
  const start = num * size;
  if (start > body.length || (start === body.length && start > 0)) return undefined;
  const end = Math.min(body.length, start + size);
  return { payload: body.subarray(start, end), more: end < body.length };
}

/** What one Block1 block did to a reassembly. */
export type Block1Outcome =
  | { kind: 'continue' }
  | { kind: 'complete'; body: Buffer }
  /** A block out of order (RFC 7959 §2.9.2: 4.08 Request Entity Incomplete). */
  | { kind: 'incomplete' }
  /** Past the size limit (4.13 Request Entity Too Large). */
  | { kind: 'too_large' };

/** Reassembles Block1 request bodies, one transfer per resource key (RFC 7959 §2.5). */
export class Block1Assembler {
  private readonly transfers = new Map<string, { parts: Buffer[]; size: number; next: number }>();

  constructor(
    private readonly maxBody: number,
    private readonly maxTransfers = 4,
  ) {}

  /** Adds one block of the request to `key` (method and URI). */
  add(key: string, block: Block, payload: Buffer): Block1Outcome {
    const bs = blockSize(block.szx);
    let t = this.transfers.get(key);
    if (block.num === 0) {
      if (t === undefined && this.transfers.size >= this.maxTransfers) {
        const oldest = this.transfers.keys().next().value;
        if (oldest !== undefined) this.transfers.delete(oldest);
      }
      t = { parts: [], size: 0, next: 0 };
      this.transfers.set(key, t);
    }
    // The client may lower the block size mid-transfer, so progress is tracked by byte offset.
    if (t === undefined || block.num * bs !== t.next) {
      this.transfers.delete(key);
      return { kind: 'incomplete' };
    }
    // Every block but the last is exactly one block size long (RFC 7959 §2.2).
    if (block.more && payload.length !== bs) {
      this.transfers.delete(key);
      return { kind: 'incomplete' };
    }
    t.size += payload.length;
    if (t.size > this.maxBody) {
      this.transfers.delete(key);
      return { kind: 'too_large' };
    }
    t.parts.push(payload);
    t.next += payload.length;
    if (block.more) return { kind: 'continue' };
    this.transfers.delete(key);
    return { kind: 'complete', body: Buffer.concat(t.parts, t.size) };
  }
}

/** A Block1 request through an assembler: the whole body (with the option to echo), or the answer now. */
export type Block1Step =
  | { body: Buffer; echo: CoapOption }
  | { code: string; text?: string; options: CoapOption[] };

/**
 * Feeds one request carrying a Block1 option (its value `v`) to an assembler keyed by method and URI:
 * 2.31 Continue while blocks come, 4.08 for one out of order, 4.13 with Size1 past `maxBody`, 4.00 for a
 * bad option, and the whole body with the last block.
 */
export function block1Step(asm: Block1Assembler, m: CoapMessage, v: Buffer, maxBody: number): Block1Step {
  const block = decodeBlock(v);
  if (block === undefined) return { code: '4.00', text: 'Bad Block1 option', options: [] };
  const key = `${m.code} ${uriPath(m).join('/')}?${[...uriQuery(m)].join('&')}`;
  const out = asm.add(key, block, m.payload);
  const echo = { number: Opt.Block1, value: encodeBlock(block) };
  switch (out.kind) {
    case 'continue':
      return { code: '2.31', options: [echo] };
    case 'incomplete':
      return { code: '4.08', text: 'Request Entity Incomplete', options: [] };
    case 'too_large':
      return { code: '4.13', options: [{ number: Opt.Size1, value: uintValue(maxBody) }] };
    case 'complete':
      return { body: out.body, echo };
  }
}
