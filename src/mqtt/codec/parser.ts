/**
 * Streaming MQTT parser for protocol levels 3, 4 and 5.
 *
 * Bytes arrive in arbitrary chunks. Whole packets inside a chunk are parsed in place (a PUBLISH payload is a
 * view of the chunk, not a copy); a packet cut by a chunk boundary is reassembled in a buffer of its own.
 * The fixed header alone decides Packet Too Large, so an oversized body is never buffered.
 *
 * Ownership: delivered packets may reference the pushed chunk (PUBLISH payloads), so a caller must not reuse
 * a chunk's memory after pushing it, and a consumer that keeps a payload for long (retained store, offline
 * queue) should copy it so it does not pin the whole chunk. Every other Buffer field is already a copy.
 * A chunk pushed as borrowed (a view of a shared read buffer, reused once push returns) is never referenced:
 * PUBLISH payloads are copied out, and bytes of a packet it cuts are kept in the parser's own buffers.
 *
 * Shapes: optional fields of a delivered packet are present as keys set to undefined when absent from the
 * wire (so each packet type keeps one hidden class); `properties` is undefined for an empty property block.
 *
 * Errors are fatal: after the first MqttParseError the parser refuses all input with that same error.
 * If the sink throws, the exception propagates and the rest of that chunk is dropped; discard the parser.
 *
 * Reason codes where the specs leave room (MQTT 5 §1.2: Malformed = cannot be parsed, Protocol Error =
 * parsed but not allowed):
 * - type 0, and type 15 before level 5: reserved types, 0x81. A known type flowing the wrong way (CONNACK,
 *   SUBACK, UNSUBACK, PINGRESP to a server; CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ to a client): 0x82.
 * - anything but CONNECT first: 0x82. A second CONNECT is delivered; the channel answers it.
 * - CONNECT: unknown protocol name 0x81; known name with another level 0x84, with `protocolVersion` on the
 *   error. Errors after the level byte carry that level too, so the channel can choose the CONNACK format.
 * - v5 SUBSCRIBE maximum QoS 3 and retain handling 3: 0x82 (§3.8.3.1 says Protocol Error); reserved option
 *   bits 0x81 [MQTT-3.8.3-5]. At 3.x, reserved bits and QoS 3 are both malformed [MQTT-3-8.3-4]: 0x81.
 * - Topic Alias 0: 0x94 Topic Alias Invalid [MQTT-3.3.2-8]; the channel checks the upper bound.
 * - Subscription Identifier 0 (SUBSCRIBE or PUBLISH), or one in a PUBLISH from a client: 0x82.
 * - A reason code outside the packet's table, SUBSCRIBE/UNSUBSCRIBE/SUBACK/UNSUBACK without entries, a v5
 *   PUBLISH with an empty topic and no alias, Authentication Data without a method in CONNECT: 0x82.
 * - Packet identifier 0 where one is required (PUBLISH QoS>0, acks, SUBSCRIBE, ...): 0x81.
 * Topic syntax (wildcards, empty filters) is not checked here: the broker validates topics.
 */

import { firstByteError, firstByteTable, PACKET_NAMES, type ParserRole } from './header.js';
import type {
  AckProperties,
  AuthProperties,
  ConnackProperties,
  ConnectPacket,
  ConnectProperties,
  DisconnectProperties,
  MqttPacket,
  PingreqPacket,
  ProtocolVersion,
  PublishPacket,
  PublishProperties,
  QoS,
  SubscribeProperties,
  SubscriptionRequest,
  UserProperties,
  WillProperties,
} from './packets.js';
import { MqttParseError } from './packets.js';
import {
  PROPS_AUTH,
  PROPS_CONNACK,
  PROPS_CONNECT,
  PROPS_DISCONNECT,
  PROPS_PUBACK,
  PROPS_PUBLISH,
  PROPS_SUBACK,
  PROPS_SUBSCRIBE,
  PROPS_UNSUBACK,
  PROPS_UNSUBSCRIBE,
  PROPS_WILL,
  readProperties,
} from './properties.js';
import { FrameReader, MALFORMED, PACKET_TOO_LARGE, PROTOCOL_ERROR, UNSUPPORTED_VERSION } from './reader.js';
import {
  AUTH_CODES,
  CONNACK_CODES,
  DISCONNECT_CODES,
  PUBACK_CODES,
  PUBREL_CODES,
  SUBACK_CODES,
  SUBACK_CODES_V4,
  UNSUBACK_CODES,
} from './reason-codes.js';
import { decodeMqttString } from './utf8.js';

export interface ParserOptions {
  /** Packets whose total size (fixed header + remaining length) exceeds this are refused with 0x95 before their body is buffered. */
  maxPacketSize: number;
  /** 'server' parses what a client sends and refuses the rest; 'client' parses what a server sends. */
  role: 'server' | 'client';
  /** Initial protocol level (role 'client' usually knows it up front); defaults to 0, unknown. */
  protocolVersion?: 0 | ProtocolVersion;
}

export interface ParserSink {
  onPacket(packet: MqttPacket): void;
}

/** Nothing of an incomplete packet is held. */
const IDLE = 0;
/** Part of a fixed header (1..4 bytes) sits in `head`. */
const HEADER = 1;
/** The fixed header is known; the body is being gathered. */
const BODY = 2;

/** Bodies up to this size get their whole buffer at once; beyond it the buffer grows with the bytes received. */
const PREALLOC_LIMIT = 65536;

/**
 * One reader for every parser: a packet is parsed synchronously from reset to release, so no two parses
 * ever use it at once, and a reader per parser was 64 B of every idle connection (bench/conn-memory.ts).
 */
const READER = new FrameReader();

/** Every PINGREQ is the same packet: one frozen object instead of one per ping of an idle fleet. */
const PINGREQ: PingreqPacket = Object.freeze({ cmd: 'pingreq' });

export class MqttParser {
  maxPacketSize: number;
  private readonly role: ParserRole;
  private version: 0 | 3 | 4 | 5 = 0;
  /** Role 'server' until the first CONNECT has been parsed: nothing else is accepted. */
  private awaitingConnect: boolean;
  /** First-byte verdicts for the current role, level and CONNECT state (see header.ts). */
  private table: Uint8Array;
  private error: MqttParseError | undefined = undefined;

  private state = IDLE;
  /**
   * Partial fixed header (state HEADER) and how many bytes of it are there. Allocated when a header is first
   * cut: a Buffer of its own costs an idle connection ~200 B (view, ArrayBuffer, backing store).
   */
  private head: Buffer | undefined = undefined;
  private headHave = 0;
  /** State BODY: the packet's first byte, header length and remaining length. */
  private first = 0;
  private headLen = 0;
  private need = 0;
  /** State BODY: bytes of body gathered so far, in `body` (undefined while none have arrived). */
  private body: Buffer | undefined = undefined;
  private have = 0;
  /** Output of `headerLength`: the remaining length it decoded. */
  private decodedLength = 0;
  /** The chunk being pushed is borrowed: a PUBLISH payload must be copied out of it. */
  private borrowed = false;

  constructor(options: ParserOptions) {
    this.maxPacketSize = options.maxPacketSize;
    this.role = options.role;
    this.version = options.protocolVersion ?? 0;
    this.awaitingConnect = this.role === 'server';
    this.table = this.selectTable();
  }

  /** 0 until known. Role 'server': set from the first CONNECT. Role 'client': set by the caller (0 parses as 3.1.1). */
  get protocolVersion(): 0 | 3 | 4 | 5 {
    return this.version;
  }

  set protocolVersion(v: 0 | 3 | 4 | 5) {
    this.version = v;
    this.table = this.selectTable();
  }

  private selectTable(): Uint8Array {
    // Level 0 on the server side is the "CONNECT first" table.
    return firstByteTable(this.role, this.awaitingConnect ? 0 : this.version);
  }

  /** Bytes buffered of an incomplete packet. */
  get buffered(): number {
    if (this.state === HEADER) return this.headHave;
    if (this.state === BODY) return this.headLen + this.have;
    return 0;
  }

  /**
   * Feeds bytes; calls `sink.onPacket` once per complete packet, in order. Returns undefined, or the first
   * MqttParseError (packets completed before it are still delivered); after an error every push returns it.
   * `borrowed`: `chunk` is valid only during this call, so neither a delivered packet nor the parser keeps a
   * view of it.
   */
  push(chunk: Buffer, sink: ParserSink, borrowed = false): MqttParseError | undefined {
    if (this.error !== undefined) return this.error;
    this.borrowed = borrowed;
    const len = chunk.length;
    let pos = 0;
    if (this.state !== IDLE) {
      pos = this.resume(chunk, sink);
      if (pos < 0) return this.error;
    }
    while (pos < len) {
      const b0 = chunk[pos];
      let headLen: number;
      let rem: number;
      if (pos + 1 < len && chunk[pos + 1] < 0x80) {
        // The common case: a one-byte remaining length.
        headLen = 2;
        rem = chunk[pos + 1];
      } else {
        headLen = this.headerLength(chunk, pos, len);
        if (headLen === 0) {
          // The header itself is cut: keep its bytes (at most 4) for the next chunk.
          chunk.copy((this.head ??= Buffer.alloc(5)), 0, pos, len);
          this.headHave = len - pos;
          this.state = HEADER;
          return undefined;
        }
        if (headLen < 0) return this.fail(this.lengthError(b0));
        rem = this.decodedLength;
      }
      const refusal = this.checkHeader(b0, headLen, rem);
      if (refusal !== undefined) return this.fail(refusal);
      const start = pos + headLen;
      const end = start + rem;
      if (end > len) {
        // The body is cut: gather it.
        this.first = b0;
        this.headLen = headLen;
        this.need = rem;
        this.have = 0;
        this.body = undefined;
        this.state = BODY;
        if (start < len) this.gather(chunk, start, len - start);
        return undefined;
      }
      const packet = this.parse(b0, chunk, start, end);
      if (packet === undefined) return this.error;
      pos = end;
      sink.onPacket(packet);
    }
    return undefined;
  }

  /**
   * Continues the packet left incomplete by the previous chunk. Returns the position in `chunk` after it
   * (chunk.length when the chunk was used up), or -1 after recording an error.
   */
  private resume(chunk: Buffer, sink: ParserSink): number {
    const len = chunk.length;
    let pos = 0;
    if (this.state === HEADER) {
      const head = this.head!;
      let headLen = 0;
      while (headLen === 0) {
        if (pos >= len) return len;
        head[this.headHave++] = chunk[pos++];
        headLen = this.headerLength(head, 0, this.headHave);
      }
      if (headLen < 0) {
        this.fail(this.lengthError(head[0]));
        return -1;
      }
      // Copied one byte at a time and stopped as soon as the header was complete: `pos` is the first body byte.
      const refusal = this.checkHeader(head[0], headLen, this.decodedLength);
      if (refusal !== undefined) {
        this.fail(refusal);
        return -1;
      }
      this.first = head[0];
      this.headLen = headLen;
      this.need = this.decodedLength;
      this.have = 0;
      this.body = undefined;
      this.headHave = 0;
      this.state = BODY;
    }
    const avail = len - pos;
    let packet: MqttPacket | undefined;
    if (this.body === undefined && avail >= this.need) {
      // No body bytes were held back: the whole body is in this chunk, parse it in place.
      const end = pos + this.need;
      this.state = IDLE;
      packet = this.parse(this.first, chunk, pos, end);
      pos = end;
    } else {
      // Allocate nothing until body bytes exist: the next chunk may yet hold the whole body.
      if (avail === 0) return len;
      const take = Math.min(avail, this.need - this.have);
      this.gather(chunk, pos, take);
      pos += take;
      if (this.have < this.need) return len;
      const body = this.body as Buffer;
      this.body = undefined;
      this.state = IDLE;
      // The gathered body is the parser's own buffer, handed on with the packet: nothing to copy out of it.
      const borrowed = this.borrowed;
      this.borrowed = false;
      try {
        packet = this.parse(this.first, body, 0, this.need);
      } finally {
        this.borrowed = borrowed;
      }
    }
    if (packet === undefined) return -1;
    sink.onPacket(packet);
    return pos;
  }

  /** Appends `n` bytes of `chunk` at `pos` to the body being gathered. */
  private gather(chunk: Buffer, pos: number, n: number): void {
    const want = this.have + n;
    let body = this.body;
    if (body === undefined || want > body.length) {
      // Small bodies get their final buffer at once. Big ones grow by doubling so that memory follows the
      // bytes actually received, not a length a peer merely declared.
      const size =
        this.need <= PREALLOC_LIMIT
          ? this.need
          : Math.min(this.need, Math.max(want, PREALLOC_LIMIT, body === undefined ? 0 : body.length * 2));
      const grown = Buffer.allocUnsafe(size);
      if (body !== undefined) body.copy(grown, 0, 0, this.have);
      body = grown;
      this.body = body;
    }
    chunk.copy(body, this.have, pos, pos + n);
    this.have = want;
  }

  /**
   * Decodes the remaining length of the packet starting at `pos` (its first byte). Returns the header length
   * (2..5) and sets `this.decodedLength`; 0 if `end` cuts the header; -1 if the length has more than 4 bytes.
   */
  private headerLength(buf: Buffer, pos: number, end: number): number {
    let value = 0;
    let mul = 1;
    for (let i = 1; i <= 4; i++) {
      if (pos + i >= end) return 0;
      const b = buf[pos + i];
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.decodedLength = value;
        return i + 1;
      }
      mul *= 0x80;
    }
    return -1;
  }

  private lengthError(b0: number): MqttParseError {
    return new MqttParseError(
      MALFORMED,
      'remaining length longer than 4 bytes',
      PACKET_NAMES[b0 >> 4],
      this.version === 0 ? undefined : this.version,
    );
  }

  /** Type, flags and size checks the fixed header alone allows. */
  private checkHeader(b0: number, headLen: number, rem: number): MqttParseError | undefined {
    if (this.table[b0] !== 0) return firstByteError(b0, this.role, this.awaitingConnect ? 0 : this.version);
    const total = headLen + rem;
    if (total > this.maxPacketSize) {
      return new MqttParseError(
        PACKET_TOO_LARGE,
        `packet of ${total} bytes exceeds the maximum of ${this.maxPacketSize}`,
        PACKET_NAMES[b0 >> 4],
        this.version === 0 ? undefined : this.version,
      );
    }
    return undefined;
  }

  /** Records the fatal error, drops whatever was buffered, and returns the error. */
  private fail(error: MqttParseError): MqttParseError {
    this.error = error;
    this.state = IDLE;
    this.body = undefined;
    return error;
  }

  /** Parses one complete packet, or records the error and returns undefined. */
  private parse(b0: number, buf: Buffer, start: number, end: number): MqttPacket | undefined {
    try {
      const packet = this.parseBody(b0, buf, start, end);
      // The reader must not keep the chunk: a chunk is a slice of an 8 KB pool slab, which an idle connection
      // would pin after its CONNECT (0.3 KB per connection in bench/conn-memory.ts).
      READER.release();
      return packet;
    } catch (e) {
      READER.release();
      if (!(e instanceof MqttParseError)) throw e;
      this.fail(e);
      return undefined;
    }
  }

  private parseBody(b0: number, buf: Buffer, start: number, end: number): MqttPacket {
    const type = b0 >> 4;
    if (type === 3) return this.parsePublish(b0, buf, start, end);
    const r = READER;
    // A client-role parser that was never told the level reads 3.1.1.
    const v = this.version === 0 ? 4 : this.version;
    r.reset(buf, start, end, PACKET_NAMES[type], this.version);
    switch (type) {
      case 1:
        return this.parseConnect(r);
      case 2:
        return this.parseConnack(r, v);
      case 4:
        return this.parseAck(r, v, 'puback', PUBACK_CODES);
      case 5:
        return this.parseAck(r, v, 'pubrec', PUBACK_CODES);
      case 6:
        return this.parseAck(r, v, 'pubrel', PUBREL_CODES);
      case 7:
        return this.parseAck(r, v, 'pubcomp', PUBREL_CODES);
      case 8:
        return this.parseSubscribe(r, v);
      case 9:
        return this.parseSuback(r, v);
      case 10:
        return this.parseUnsubscribe(r, v);
      case 11:
        return this.parseUnsuback(r, v);
      case 12:
        this.expectEmpty(r);
        return PINGREQ;
      case 13:
        this.expectEmpty(r);
        return { cmd: 'pingresp' };
      case 14:
        return this.parseDisconnect(r, v);
      default:
        // The first-byte table lets AUTH (15) through only at level 5.
        return this.parseAuth(r);
    }
  }

  /** The hot path: written out by hand, the reader is only used for (rare) properties. */
  private parsePublish(b0: number, buf: Buffer, start: number, end: number): PublishPacket {
    const qos = ((b0 >> 1) & 3) as QoS;
    let p = start;
    if (p + 2 > end) this.publishError(MALFORMED, 'packet ends inside the topic length');
    const topicEnd = p + 2 + ((buf[p] << 8) | buf[p + 1]);
    if (topicEnd > end) this.publishError(MALFORMED, 'topic runs past the packet');
    const topic = decodeMqttString(buf, p + 2, topicEnd);
    if (topic === undefined) this.publishError(MALFORMED, 'topic is not valid MQTT UTF-8');
    p = topicEnd;
    let packetId = 0;
    if (qos !== 0) {
      if (p + 2 > end) this.publishError(MALFORMED, 'packet ends inside the packet identifier');
      packetId = (buf[p] << 8) | buf[p + 1];
      if (packetId === 0) this.publishError(MALFORMED, 'packet identifier 0'); // [MQTT-2.2.1-3]
      p += 2;
    }
    let properties: PublishProperties | undefined;
    if (this.version === 5) {
      if (p >= end) this.publishError(MALFORMED, 'packet ends before the property length');
      if (buf[p] === 0) {
        p++;
      } else {
        const r = READER;
        r.reset(buf, p, end, 'publish', 5);
        properties = readProperties<PublishProperties>(r, PROPS_PUBLISH);
        p = r.pos;
        if (this.role === 'server' && properties?.subscriptionIdentifiers !== undefined) {
          this.publishError(PROTOCOL_ERROR, 'subscription identifier sent by a client'); // [MQTT-3.3.4-6]
        }
      }
      if (topic.length === 0 && properties?.topicAlias === undefined) {
        this.publishError(PROTOCOL_ERROR, 'empty topic without a topic alias'); // §3.3.2.1
      }
    }
    return {
      cmd: 'publish',
      qos,
      dup: (b0 & 8) !== 0,
      retain: (b0 & 1) !== 0,
      topic,
      packetId,
      payload: this.borrowed ? copyOut(buf, p, end) : buf.subarray(p, end),
      properties,
    };
  }

  private publishError(reasonCode: number, message: string): never {
    throw new MqttParseError(
      reasonCode,
      `publish: ${message}`,
      'publish',
      this.version === 0 ? undefined : this.version,
    );
  }

  private parseConnect(r: FrameReader): ConnectPacket {
    const nameLen = r.u16();
    const n = r.pos;
    const buf = r.buf;
    if (n + nameLen > r.end) r.fail(MALFORMED, 'connect: protocol name runs past the packet');
    let protocolName: string;
    let wanted: number;
    if (
      nameLen === 4 &&
      buf[n] === 0x4d &&
      buf[n + 1] === 0x51 &&
      buf[n + 2] === 0x54 &&
      buf[n + 3] === 0x54
    ) {
      protocolName = 'MQTT';
      wanted = 4;
    } else if (
      nameLen === 6 &&
      buf[n] === 0x4d &&
      buf[n + 1] === 0x51 &&
      buf[n + 2] === 0x49 &&
      buf[n + 3] === 0x73 &&
      buf[n + 4] === 0x64 &&
      buf[n + 5] === 0x70
    ) {
      protocolName = 'MQIsdp';
      wanted = 3;
    } else {
      const shown = decodeMqttString(buf, n, n + nameLen);
      return r.fail(
        MALFORMED,
        `connect: unknown protocol name ${shown === undefined ? '(invalid UTF-8)' : JSON.stringify(shown)}`,
      );
    }
    r.pos = n + nameLen;
    const levelByte = r.u8();
    const level = levelByte & 0x7f;
    r.version = level;
    // 'MQTT' serves levels 4 and 5, 'MQIsdp' only 3; a known name with another level gets 0x84 (3.x: rc 1).
    if (wanted === 4 ? level !== 4 && level !== 5 : level !== 3) {
      r.fail(UNSUPPORTED_VERSION, `connect: unsupported protocol level ${level} for ${protocolName}`);
    }
    const flags = r.u8();
    if ((flags & 0x01) !== 0) r.fail(MALFORMED, 'connect: reserved flag set'); // [MQTT-3.1.2-3]
    const willFlag = (flags & 0x04) !== 0;
    const willQos = (flags >> 3) & 3;
    const willRetain = (flags & 0x20) !== 0;
    if (willQos === 3) r.fail(MALFORMED, 'connect: will QoS 3'); // [MQTT-3.1.2-12]
    if (!willFlag && (willQos !== 0 || willRetain)) {
      r.fail(MALFORMED, 'connect: will QoS or retain set without the will flag'); // [MQTT-3.1.2-11/13]
    }
    const hasUsername = (flags & 0x80) !== 0;
    const hasPassword = (flags & 0x40) !== 0;
    if (level < 5 && hasPassword && !hasUsername) {
      r.fail(MALFORMED, 'connect: password flag without user name flag'); // 3.1.1 [MQTT-3.1.2-22]
    }
    const keepalive = r.u16();
    let properties: ConnectProperties | undefined;
    if (level === 5) {
      properties = readProperties<ConnectProperties>(r, PROPS_CONNECT);
      if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
        r.fail(PROTOCOL_ERROR, 'connect: authentication data without authentication method'); // §3.1.2.11.10
      }
    }
    const clientId = r.utf8();
    let will: ConnectPacket['will'];
    if (willFlag) {
      const willProperties = level === 5 ? readProperties<WillProperties>(r, PROPS_WILL) : undefined;
      const topic = r.utf8();
      const payload = r.binary();
      will = { topic, payload, qos: willQos as QoS, retain: willRetain, properties: willProperties };
    }
    const username = hasUsername ? r.utf8() : undefined;
    const password = hasPassword ? r.binary() : undefined;
    this.expectEnd(r);
    if (this.awaitingConnect) {
      // The first CONNECT fixes the level for the rest of the connection; a second one is the channel's
      // business (Protocol Error) and changes nothing here.
      this.awaitingConnect = false;
      this.protocolVersion = level as ProtocolVersion;
    }
    return {
      cmd: 'connect',
      protocolName,
      protocolVersion: level as ProtocolVersion,
      bridge: (levelByte & 0x80) !== 0,
      cleanStart: (flags & 0x02) !== 0,
      keepalive,
      clientId,
      will,
      username,
      password,
      properties,
    };
  }

  private parseConnack(r: FrameReader, v: number): MqttPacket {
    const flags = r.u8();
    if ((flags & 0xfe) !== 0) r.fail(MALFORMED, 'connack: reserved acknowledge flags set'); // [MQTT-3.2.2-1]
    const reasonCode = r.u8();
    let properties: ConnackProperties | undefined;
    if (v === 5 && r.remaining > 0) {
      if (!CONNACK_CODES[reasonCode])
        r.fail(PROTOCOL_ERROR, `connack: invalid reason code 0x${hex(reasonCode)}`);
      properties = readProperties<ConnackProperties>(r, PROPS_CONNACK);
    } else if (reasonCode > 5 && !(v === 5 && CONNACK_CODES[reasonCode])) {
      // A v5 CONNACK without properties is tolerated: it is how a 3.x-only server refuses a v5 client (rc 1).
      r.fail(PROTOCOL_ERROR, `connack: invalid return code ${reasonCode}`);
    }
    this.expectEnd(r);
    return { cmd: 'connack', sessionPresent: flags === 1, reasonCode, properties };
  }

  /** PUBACK, PUBREC, PUBREL, PUBCOMP. */
  private parseAck(
    r: FrameReader,
    v: number,
    cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp',
    codes: Uint8Array,
  ): MqttPacket {
    const packetId = this.packetId(r);
    let reasonCode = 0;
    let properties: AckProperties | undefined;
    // v5 short forms: remaining length 2 means success without properties, 3 a reason code alone.
    if (v === 5 && r.remaining > 0) {
      reasonCode = r.u8();
      if (!codes[reasonCode]) r.fail(PROTOCOL_ERROR, `${cmd}: invalid reason code 0x${hex(reasonCode)}`);
      if (r.remaining > 0) properties = readProperties<AckProperties>(r, PROPS_PUBACK);
    }
    this.expectEnd(r);
    return { cmd, packetId, reasonCode, properties };
  }

  private parseSubscribe(r: FrameReader, v: number): MqttPacket {
    const packetId = this.packetId(r);
    const properties = v === 5 ? readProperties<SubscribeProperties>(r, PROPS_SUBSCRIBE) : undefined;
    const subscriptions: SubscriptionRequest[] = [];
    while (r.pos < r.end) {
      const topic = r.utf8();
      const options = r.u8();
      const qos = options & 3;
      if (v === 5) {
        if ((options & 0xc0) !== 0) r.fail(MALFORMED, 'subscribe: reserved subscription option bits set'); // [MQTT-3.8.3-5]
        if (qos === 3) r.fail(PROTOCOL_ERROR, 'subscribe: maximum QoS 3'); // §3.8.3.1
        const retainHandling = (options >> 4) & 3;
        if (retainHandling === 3) r.fail(PROTOCOL_ERROR, 'subscribe: retain handling 3'); // §3.8.3.1
        subscriptions.push({
          topic,
          qos: qos as QoS,
          noLocal: (options & 0x04) !== 0,
          retainAsPublished: (options & 0x08) !== 0,
          retainHandling: retainHandling as 0 | 1 | 2,
        });
      } else {
        // 3.1.1 [MQTT-3-8.3-4]: upper six bits reserved, QoS 3 invalid, both malformed.
        if ((options & 0xfc) !== 0) r.fail(MALFORMED, 'subscribe: reserved bits set in requested QoS');
        if (qos === 3) r.fail(MALFORMED, 'subscribe: requested QoS 3');
        subscriptions.push({
          topic,
          qos: qos as QoS,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        });
      }
    }
    if (subscriptions.length === 0) r.fail(PROTOCOL_ERROR, 'subscribe: no topic filters'); // [MQTT-3.8.3-2]
    return { cmd: 'subscribe', packetId, subscriptions, properties };
  }

  private parseSuback(r: FrameReader, v: number): MqttPacket {
    const packetId = this.packetId(r);
    const properties = v === 5 ? readProperties<AckProperties>(r, PROPS_SUBACK) : undefined;
    const reasonCodes = this.reasonCodeList(r, v === 5 ? SUBACK_CODES : SUBACK_CODES_V4);
    return { cmd: 'suback', packetId, reasonCodes, properties };
  }

  private parseUnsubscribe(r: FrameReader, v: number): MqttPacket {
    const packetId = this.packetId(r);
    const properties =
      v === 5 ? readProperties<{ userProperties?: UserProperties }>(r, PROPS_UNSUBSCRIBE) : undefined;
    const topics: string[] = [];
    while (r.pos < r.end) topics.push(r.utf8());
    if (topics.length === 0) r.fail(PROTOCOL_ERROR, 'unsubscribe: no topic filters'); // [MQTT-3.10.3-2]
    return { cmd: 'unsubscribe', packetId, topics, properties };
  }

  private parseUnsuback(r: FrameReader, v: number): MqttPacket {
    const packetId = this.packetId(r);
    if (v !== 5) {
      this.expectEnd(r);
      return { cmd: 'unsuback', packetId, reasonCodes: [], properties: undefined };
    }
    const properties = readProperties<AckProperties>(r, PROPS_UNSUBACK);
    const reasonCodes = this.reasonCodeList(r, UNSUBACK_CODES);
    return { cmd: 'unsuback', packetId, reasonCodes, properties };
  }

  private parseDisconnect(r: FrameReader, v: number): MqttPacket {
    let reasonCode = 0;
    let properties: DisconnectProperties | undefined;
    // v5 short forms: remaining length 0 is a normal disconnection, 1 a reason code alone.
    if (v === 5 && r.remaining > 0) {
      reasonCode = r.u8();
      if (!DISCONNECT_CODES[reasonCode])
        r.fail(PROTOCOL_ERROR, `disconnect: invalid reason code 0x${hex(reasonCode)}`);
      if (r.remaining > 0) properties = readProperties<DisconnectProperties>(r, PROPS_DISCONNECT);
    }
    this.expectEnd(r);
    return { cmd: 'disconnect', reasonCode, properties };
  }

  private parseAuth(r: FrameReader): MqttPacket {
    let reasonCode = 0;
    let properties: AuthProperties | undefined;
    // Remaining length 0 means success without properties (§3.15.2.1); 1 (code alone) is accepted as well.
    if (r.remaining > 0) {
      reasonCode = r.u8();
      if (!AUTH_CODES[reasonCode]) r.fail(PROTOCOL_ERROR, `auth: invalid reason code 0x${hex(reasonCode)}`);
      if (r.remaining > 0) properties = readProperties<AuthProperties>(r, PROPS_AUTH);
    }
    this.expectEnd(r);
    return { cmd: 'auth', reasonCode, properties };
  }

  /** A packet identifier where one is required: 0 is malformed [MQTT-2.2.1-3]. */
  private packetId(r: FrameReader): number {
    const id = r.u16();
    if (id === 0) r.fail(MALFORMED, `${r.packetType}: packet identifier 0`);
    return id;
  }

  /** The rest of the packet as one reason code per byte, at least one, each allowed by `codes`. */
  private reasonCodeList(r: FrameReader, codes: Uint8Array): number[] {
    const list: number[] = [];
    const buf = r.buf;
    for (let p = r.pos; p < r.end; p++) {
      const c = buf[p];
      if (!codes[c]) r.fail(PROTOCOL_ERROR, `${r.packetType}: invalid reason code 0x${hex(c)}`);
      list.push(c);
    }
    r.pos = r.end;
    if (list.length === 0) r.fail(PROTOCOL_ERROR, `${r.packetType}: no reason codes`);
    return list;
  }

  private expectEmpty(r: FrameReader): void {
    if (r.remaining !== 0) r.fail(MALFORMED, `${r.packetType}: remaining length must be 0`);
  }

  /** Bytes left inside the declared remaining length are malformed. */
  private expectEnd(r: FrameReader): void {
    if (r.pos !== r.end) r.fail(MALFORMED, `${r.packetType}: ${r.end - r.pos} unexpected bytes at the end`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Bytes [start, end) of `buf` in a buffer of their own (from Node's pool when small). */
function copyOut(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}
