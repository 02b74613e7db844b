/**
 * DTLS 1.2 wire format (RFC 6347 §4.1, §4.2.2): record and handshake headers, a bounds-checked reader and the
 * protocol's numbers. Every malformed input becomes a DtlsError carrying the alert a peer is owed, so callers
 * catch one error type and never see a RangeError from a short buffer.
 */

export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const;

/** The alert descriptions this implementation sends or understands (RFC 5246 §7.2, RFC 4279 §2). */
export const Alert = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  unknownPskIdentity: 115,
} as const;

const ALERT_NAMES = new Map<number, string>(
  Object.entries(Alert).map(([name, code]) => [code, name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
);

/** The alert's name as RFC 5246 spells it ("bad_record_mac"), or its number. */
export function alertName(code: number): string {
  return ALERT_NAMES.get(code) ?? `alert_${code}`;
}

/** DTLS 1.2 on the wire (the one's complement of 1.2). */
export const DTLS_1_2 = 0xfefd;
/** DTLS 1.0: accepted in a record header of the first ClientHello only (RFC 6347 §4.1). */
export const DTLS_1_0 = 0xfeff;

export const RECORD_HEADER = 13;
export const HANDSHAKE_HEADER = 12;
/** Largest plaintext a record may carry (2^14) plus what a cipher may add. */
export const MAX_CIPHERTEXT = 16_384 + 2048;

/** A defined protocol failure: the alert to send (when any) and a message for the log. */
export class DtlsError extends Error {
  constructor(
    readonly alert: number,
    message: string,
  ) {
    super(message);
    this.name = 'DtlsError';
  }
}

/** Reads big-endian fields from a buffer; reading past its end throws DtlsError(decode_error). */
export class Reader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new DtlsError(Alert.decodeError, `truncated ${what}`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(what = 'u24'): number {
    this.need(3, what);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u48(what = 'u48'): number {
    this.need(6, what);
    const v = this.buf.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A vector with a 1, 2 or 3 byte length prefix. */
  vector(lenBytes: 1 | 2 | 3, what: string): Buffer {
    const n = lenBytes === 1 ? this.u8(what) : lenBytes === 2 ? this.u16(what) : this.u24(what);
    return this.bytes(n, what);
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** Throws unless the whole input was read (trailing bytes are a decode error too). */
  done(what: string): void {
    if (this.pos !== this.end) throw new DtlsError(Alert.decodeError, `trailing bytes after ${what}`);
  }
}

/** A vector with a 1, 2 or 3 byte length prefix. */
export function vec(lenBytes: 1 | 2 | 3, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(lenBytes + data.length);
  out.writeUIntBE(data.length, 0, lenBytes);
  data.copy(out, lenBytes);
  return out;
}

export function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v, 0);
  return b;
}

/** One record as it came off the wire (fragment still protected for epoch > 0). */
export interface DtlsRecord {
  type: number;
  version: number;
  epoch: number;
  seq: number;
  fragment: Buffer;
}

/**
 * Splits a datagram into records. A record whose header is cut short ends the datagram (RFC 6347 §4.1.2.7:
 * invalid records are dropped silently); the records before it are kept.
 */
export function parseRecords(datagram: Buffer): DtlsRecord[] {
  const out: DtlsRecord[] = [];
  let pos = 0;
  while (datagram.length - pos >= RECORD_HEADER) {
    const length = datagram.readUInt16BE(pos + 11);
    if (pos + RECORD_HEADER + length > datagram.length || length > MAX_CIPHERTEXT) break;
    out.push({
      type: datagram[pos]!,
      version: datagram.readUInt16BE(pos + 1),
      epoch: datagram.readUInt16BE(pos + 3),
      seq: datagram.readUIntBE(pos + 5, 6),
      fragment: datagram.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + length),
    });
    pos += RECORD_HEADER + length;
  }
  return out;
}

/** A record header followed by its fragment. */
export function encodeRecord(
  type: number,
  version: number,
  epoch: number,
  seq: number,
  fragment: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER + fragment.length);
  out[0] = type;
  out.writeUInt16BE(version, 1);
  out.writeUInt16BE(epoch, 3);
  out.writeUIntBE(seq, 5, 6);
  out.writeUInt16BE(fragment.length, 11);
  fragment.copy(out, RECORD_HEADER);
  return out;
}

/** One handshake fragment (RFC 6347 §4.2.2). */
export interface HandshakeFragment {
  msgType: number;
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  body: Buffer;
}

/** Splits a handshake record's plaintext into fragments; a fragment outside its message is a decode error. */
export function parseHandshakeFragments(plain: Buffer): HandshakeFragment[] {
  const out: HandshakeFragment[] = [];
  const r = new Reader(plain);
  while (r.remaining > 0) {
    const msgType = r.u8('handshake type');
    const length = r.u24('handshake length');
    const messageSeq = r.u16('message_seq');
    const fragmentOffset = r.u24('fragment_offset');
    const fragmentLength = r.u24('fragment_length');
    if (fragmentOffset + fragmentLength > length)
      throw new DtlsError(Alert.decodeError, 'handshake fragment extends past its message');
    out.push({
      msgType,
      length,
      messageSeq,
      fragmentOffset,
      body: r.bytes(fragmentLength, 'handshake fragment'),
    });
  }
  return out;
}

/** A handshake message header + body as one unfragmented message (also its form in the transcript). */
export function encodeHandshake(msgType: number, messageSeq: number, body: Buffer): Buffer {
  return encodeHandshakeFragment(msgType, body.length, messageSeq, 0, body);
}

export function encodeHandshakeFragment(
  msgType: number,
  length: number,
  messageSeq: number,
  offset: number,
  fragment: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_HEADER + fragment.length);
  out[0] = msgType;
  out.writeUIntBE(length, 1, 3);
  out.writeUInt16BE(messageSeq, 4);
  out.writeUIntBE(offset, 6, 3);
  out.writeUIntBE(fragment.length, 9, 3);
  fragment.copy(out, HANDSHAKE_HEADER);
  return out;
}
