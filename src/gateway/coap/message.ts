/**
 * CoAP messages (RFC 7252 §3) and their codec: a strict structural check of each datagram, then
 * `coap-packet` for the decoding and encoding. Shared by every CoAP-based gateway (CoAP, later LwM2M):
 * nothing here knows about MQTT or resources.
 */
import { generate, parse } from 'coap-packet';
import type { FrameCodec, FrameError, ParseOutput } from '../types.js';

/** The four message types. */
export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';

/** One option by number (RFC 7252 §5.10); repeated options appear once each, in order. */
export interface CoapOption {
  number: number;
  value: Buffer;
}

/** A decoded message. `code` is "c.dd": "0.01" GET … "2.05" Content; "0.00" is the empty message. */
export interface CoapMessage {
  type: CoapType;
  code: string;
  messageId: number;
  token: Buffer;
  options: CoapOption[];
  payload: Buffer;
}

/** Option numbers the gateways use. */
export const Opt = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  NoResponse: 258,
} as const;

/** Options a server understands (RFC 7252, 7641, 7959, 7967); an unknown critical (odd) one is refused. */
const KNOWN_OPTIONS = new Set<number>(Object.values(Opt));

/** Content formats (RFC 7252 §12.3 and the LwM2M registrations). */
export const ContentFormat = {
  text: 0,
  linkFormat: 40,
  xml: 41,
  octetStream: 42,
  exi: 47,
  json: 50,
  cbor: 60,
  lwm2mTlv: 11542,
  lwm2mJson: 11543,
} as const;

/** The first unknown critical option of a message, if any (RFC 7252 §5.4.1). */
export function unknownCriticalOption(msg: CoapMessage): number | undefined {
  for (const o of msg.options) if ((o.number & 1) === 1 && !KNOWN_OPTIONS.has(o.number)) return o.number;
  return undefined;
}

/** A refused datagram, with what a Reset needs when its header could be read (RFC 7252 §4.2, §4.3). */
export interface CoapFrameError extends FrameError {
  /** Present when the 4-byte header was readable. */
  messageId?: number;
  type?: CoapType;
}

/** Narrows a FrameError coming back through the framework to the CoAP one the codec produced. */
export function asCoapError(err: FrameError): CoapFrameError {
  return err as CoapFrameError;
}

const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];

/**
 * Checks the structure coap-packet's parser accepts loosely: version 1, token length ≤ 8 and present,
 * option deltas and lengths not 15 and inside the datagram, a payload marker followed by a payload, and
 * an empty message that is just a header. Returns the option numbers in order, or the reason.
 */
function checkStructure(buf: Buffer): number[] | string {
  if (buf.length < 4) return 'truncated_header';
  const b0 = buf[0]!;
  if (b0 >> 6 !== 1) return 'bad_version';
  const tkl = b0 & 0x0f;
  if (tkl > 8) return 'bad_token_length';
  if (buf[1] === 0) return buf.length === 4 ? [] : 'empty_message_not_empty';
  let i = 4 + tkl;
  if (i > buf.length) return 'truncated_token';
  const numbers: number[] = [];
  let number = 0;
  while (i < buf.length) {
    const byte = buf[i]!;
    if (byte === 0xff) return i + 1 < buf.length ? numbers : 'payload_marker_without_payload';
    i++;
    let delta = byte >> 4;
    let len = byte & 0x0f;
    if (delta === 15) return 'bad_option_delta';
    if (len === 15) return 'bad_option_length';
    if (delta === 13) {
      if (i + 1 > buf.length) return 'truncated_option';
      delta = buf[i]! + 13;
      i += 1;
    } else if (delta === 14) {
      if (i + 2 > buf.length) return 'truncated_option';
      delta = buf.readUInt16BE(i) + 269;
      i += 2;
    }
    if (len === 13) {
      if (i + 1 > buf.length) return 'truncated_option';
      len = buf[i]! + 13;
      i += 1;
    } else if (len === 14) {
      if (i + 2 > buf.length) return 'truncated_option';
      len = buf.readUInt16BE(i) + 269;
      i += 2;
    }
    if (i + len > buf.length) return 'truncated_option';
    number += delta;
    if (number > 0xffff) return 'bad_option_delta';
    numbers.push(number);
    i += len;
  }
  return numbers;
}

/** Decodes one datagram: the message, or an error that says whether a Reset can be sent. */
export function decodeMessage(buf: Buffer): CoapMessage | CoapFrameError {
  const numbers = checkStructure(buf);
  const header =
    buf.length >= 4 && buf[0]! >> 6 === 1
      ? { messageId: buf.readUInt16BE(2), type: TYPES[(buf[0]! >> 4) & 3]! }
      : {};
  if (typeof numbers === 'string')
    return { reason: numbers, message: `malformed CoAP message: ${numbers}`, ...header };
  let p: ReturnType<typeof parse>;
  try {
    p = parse(buf);
  } catch (err) {
    return { reason: 'malformed', message: `malformed CoAP message: ${(err as Error).message}`, ...header };
  }
  const options: CoapOption[] = new Array(numbers.length);
  for (let k = 0; k < numbers.length; k++) options[k] = { number: numbers[k]!, value: p.options[k]!.value };
  return {
    type: p.confirmable ? 'CON' : p.ack ? 'ACK' : p.reset ? 'RST' : 'NON',
    code: p.code,
    messageId: p.messageId,
    token: p.token,
    options,
    payload: p.payload,
  };
}

/** An empty ACK or Reset for a message id (RFC 7252 §4.2, §4.3). */
export function emptyMessage(type: 'ACK' | 'RST', messageId: number): CoapMessage {
  return { type, code: '0.00', messageId, token: NO_BYTES, options: [], payload: NO_BYTES };
}

/**
 * The answer to a datagram the codec refused: a malformed Confirmable message whose header could be read
 * is rejected with a Reset; anything else is silently ignored (RFC 7252 §4.2, §4.3).
 */
export function refusalReset(err: FrameError): CoapMessage[] {
  const e = asCoapError(err);
  return e.type === 'CON' && e.messageId !== undefined ? [emptyMessage('RST', e.messageId)] : [];
}

const NO_BYTES = Buffer.alloc(0);

/** True for a decode error. */
export function isDecodeError(m: CoapMessage | CoapFrameError): m is CoapFrameError {
  return 'reason' in m;
}

// Large enough for any block size (1024) plus options; a response never needs more.
const MAX_DATAGRAM = 65507;

/** Encodes a message. */
export function encodeMessage(m: CoapMessage): Buffer {
  return generate(
    {
      code: m.code,
      messageId: m.messageId,
      token: m.token,
      confirmable: m.type === 'CON',
      ack: m.type === 'ACK',
      reset: m.type === 'RST',
      options: m.options.map((o) => ({ name: String(o.number), value: o.value })),
      payload: m.payload,
    },
    MAX_DATAGRAM,
  );
}

/** One codec per peer: each datagram is one message or one error (the framework drops it and goes on). */
export class CoapCodec implements FrameCodec<CoapMessage> {
  feed(datagram: Buffer): ParseOutput<CoapMessage> {
    const m = decodeMessage(datagram);
    return isDecodeError(m) ? { frames: [], error: m } : { frames: [m] };
  }

  serialize(m: CoapMessage): Buffer {
    return encodeMessage(m);
  }
}

// ---------------------------------------------------------------- options

/** Every value of one option number. */
export function optionValues(m: CoapMessage, number: number): Buffer[] {
  const out: Buffer[] = [];
  for (const o of m.options) if (o.number === number) out.push(o.value);
  return out;
}

/** The first value of an option, if present. */
export function option(m: CoapMessage, number: number): Buffer | undefined {
  for (const o of m.options) if (o.number === number) return o.value;
  return undefined;
}

/** An unsigned integer option value (RFC 7252 §3.2: big-endian, no leading zero bytes; empty = 0). */
export function readUint(v: Buffer): number {
  let n = 0;
  for (let i = 0; i < v.length && i < 4; i++) n = n * 256 + v[i]!;
  return n;
}

/** Encodes an unsigned integer option value in the fewest bytes. */
export function uintValue(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  if (n < 0x100) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([n >> 8, n & 0xff]);
  if (n < 0x1000000) return Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Uri-Path segments, decoded as UTF-8 (empty segments kept). */
export function uriPath(m: CoapMessage): string[] {
  return optionValues(m, Opt.UriPath).map((v) => v.toString('utf8'));
}

/** Uri-Query options as name → value (the first of a repeated name wins; `name` alone is ''). */
export function uriQuery(m: CoapMessage): Map<string, string> {
  const q = new Map<string, string>();
  for (const v of optionValues(m, Opt.UriQuery)) {
    const s = v.toString('utf8');
    const eq = s.indexOf('=');
    const name = eq < 0 ? s : s.slice(0, eq);
    if (!q.has(name)) q.set(name, eq < 0 ? '' : s.slice(eq + 1));
  }
  return q;
}

/** True for request codes 0.01–0.31. */
export function isRequest(m: CoapMessage): boolean {
  return m.code.startsWith('0.') && m.code !== '0.00';
}

/** True for response codes 2.xx–5.xx. */
export function isResponse(m: CoapMessage): boolean {
  return m.code >= '2.00';
}

/** The method name of a request code. */
export function methodOf(code: string): 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OTHER' {
  switch (code) {
    case '0.01':
      return 'GET';
    case '0.02':
      return 'POST';
    case '0.03':
      return 'PUT';
    case '0.04':
      return 'DELETE';
    default:
      return 'OTHER';
  }
}
