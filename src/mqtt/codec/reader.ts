/**
 * A bounded cursor over one packet's variable header and payload. The parser owns one and re-aims it at each
 * packet, so reading allocates nothing but the values themselves. Every read that would cross `end` throws a
 * Malformed Packet error: a field running past the declared remaining length is the classic malformed case.
 */

import { MqttParseError } from './packets.js';
import { decodeMqttString } from './utf8.js';

/** Reason codes the parser reports (MQTT 5 §2.4). */
export const MALFORMED = 0x81;
export const PROTOCOL_ERROR = 0x82;
export const UNSUPPORTED_VERSION = 0x84;
export const TOPIC_ALIAS_INVALID = 0x94;
export const PACKET_TOO_LARGE = 0x95;

const EMPTY = Buffer.alloc(0);

export class FrameReader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** Packet type name for error reports. */
  packetType = '';
  /** Protocol level for error reports (0 when unknown). */
  version = 0;

  /** Aims the reader at bytes [pos, end) of `buf`. */
  reset(buf: Buffer, pos: number, end: number, packetType: string, version: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.packetType = packetType;
    this.version = version;
  }

  /** Lets go of the buffer read last. */
  release(): void {
    this.buf = EMPTY;
  }

  /** Throws the MqttParseError for this packet. */
  fail(reasonCode: number, message: string): never {
    throw new MqttParseError(
      reasonCode,
      message,
      this.packetType,
      this.version === 0 ? undefined : this.version,
    );
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Reads a one-byte integer. */
  u8(): number {
    if (this.pos >= this.end) this.fail(MALFORMED, `${this.packetType}: packet ends inside a field`);
    return this.buf[this.pos++];
  }

  /** Reads a Two Byte Integer (big endian). */
  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) this.fail(MALFORMED, `${this.packetType}: packet ends inside a field`);
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  /** Reads a Four Byte Integer (big endian, unsigned). */
  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.fail(MALFORMED, `${this.packetType}: packet ends inside a field`);
    this.pos = p + 4;
    return this.buf.readUInt32BE(p);
  }

  /** Reads a Variable Byte Integer; more than four bytes is malformed [MQTT-1.5.5-1]. */
  varint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 0x80;
    }
    return this.fail(MALFORMED, `${this.packetType}: variable byte integer longer than 4 bytes`);
  }

  /** Reads a 16-bit length prefix and checks that many bytes are there; returns the start of the data. */
  private lengthPrefixed(): number {
    const n = this.u16();
    const start = this.pos;
    if (start + n > this.end) this.fail(MALFORMED, `${this.packetType}: length prefix runs past the packet`);
    this.pos = start + n;
    return start;
  }

  /** Reads a UTF-8 Encoded String, enforcing the MQTT rules (well-formed, no surrogates, no U+0000). */
  utf8(): string {
    const start = this.lengthPrefixed();
    const s = decodeMqttString(this.buf, start, this.pos);
    if (s === undefined) this.fail(MALFORMED, `${this.packetType}: string is not valid MQTT UTF-8`);
    return s;
  }

  /**
   * Reads Binary Data as a copy: these fields (passwords, will payloads, correlation data) outlive the
   * packet, and a view would pin the whole socket chunk in memory.
   */
  binary(): Buffer {
    const start = this.lengthPrefixed();
    const out = Buffer.allocUnsafe(this.pos - start);
    this.buf.copy(out, 0, start, this.pos);
    return out;
  }
}
