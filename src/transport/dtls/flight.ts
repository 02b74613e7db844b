/**
 * The handshake's own reliability layer (RFC 6347 §4.2): message sequence numbers, fragmentation of outgoing
 * messages to the path MTU and packing them into datagrams, reassembly of incoming fragments in order, the
 * retransmission timer (1 s doubling to 60 s) and the transcript the Finished messages hash.
 */
import { createHash } from 'node:crypto';
import type { RecordLayer } from './record.js';
import {
  Alert,
  ContentType,
  DtlsError,
  encodeHandshake,
  encodeHandshakeFragment,
  HANDSHAKE_HEADER,
  type HandshakeFragment,
  RECORD_HEADER,
} from './wire.js';

const INITIAL_TIMEOUT_MS = 1000;
const MAX_TIMEOUT_MS = 60_000;
/** Largest handshake message accepted (a certificate chain fits well within it). */
export const MAX_HANDSHAKE_MESSAGE = 32_768;
/** How far ahead of the expected message_seq fragments are buffered (later ones are dropped). */
const MAX_AHEAD = 8;
/** Bytes a record may add around a handshake fragment (header + the largest cipher overhead). */
const RECORD_OVERHEAD = RECORD_HEADER + 16 + 48;

/** A complete handshake message. */
export interface HandshakeMessage {
  msgType: number;
  messageSeq: number;
  body: Buffer;
}

type FlightItem =
  | { kind: 'handshake'; msgType: number; messageSeq: number; body: Buffer; epoch: number }
  | { kind: 'ccs'; epoch: number };

interface Reassembly {
  msgType: number;
  body: Buffer;
  /** One byte per body byte: 1 once received. */
  have: Uint8Array;
  missing: number;
}

export interface FlightOptions {
  /** Largest datagram to send. */
  mtu: number;
  /** Called with each datagram of a flight. */
  transmit(datagram: Buffer): void;
  /** The peer stopped answering: retransmissions were exhausted. */
  onTimeout(): void;
}

/** One side's handshake messages in flight and being received. */
export class HandshakeFlights {
  /** Every handshake message of this handshake in order, as hashed for Finished and CertificateVerify. */
  readonly transcript: Buffer[] = [];
  private sendSeq: number;
  private recvSeq: number;
  private current: FlightItem[] = [];
  private building: FlightItem[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs = INITIAL_TIMEOUT_MS;
  private readonly incoming = new Map<number, Reassembly>();

  constructor(
    private readonly records: RecordLayer,
    private readonly opts: FlightOptions,
    firstSendSeq = 0,
    firstRecvSeq = 0,
  ) {
    this.sendSeq = firstSendSeq;
    this.recvSeq = firstRecvSeq;
  }

  /** Starts a new flight (the previous one is acknowledged by the peer's answer). */
  begin(): void {
    this.stopTimer();
    this.building = [];
  }

  /** Adds a handshake message to the flight being built; returns it as the transcript holds it. */
  add(msgType: number, body: Buffer): Buffer {
    const messageSeq = this.sendSeq++;
    this.building!.push({
      kind: 'handshake',
      msgType,
      messageSeq,
      body,
      epoch: this.records.currentWriteEpoch,
    });
    const whole = encodeHandshake(msgType, messageSeq, body);
    this.transcript.push(whole);
    return whole;
  }

  /** Adds a ChangeCipherSpec and switches the write epoch for what follows. */
  addChangeCipherSpec(): void {
    this.building!.push({ kind: 'ccs', epoch: this.records.currentWriteEpoch });
    this.records.switchWrite();
  }

  /** Sends the built flight; `awaitReply` arms the retransmission timer (the last flight of a side has none). */
  send(awaitReply: boolean): void {
    this.current = this.building ?? [];
    this.building = undefined;
    this.transmitCurrent();
    this.timeoutMs = INITIAL_TIMEOUT_MS;
    if (awaitReply) this.armTimer();
  }

  /** Sends the last flight again (the peer's retransmission shows ours was lost). */
  retransmit(): void {
    this.transmitCurrent();
  }

  /** Stops the retransmission timer for good (handshake over or aborted). */
  stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private armTimer(): void {
    this.timer = setTimeout(() => {
      if (this.timeoutMs >= MAX_TIMEOUT_MS) {
        this.timer = undefined;
        this.opts.onTimeout();
        return;
      }
      this.timeoutMs = Math.min(this.timeoutMs * 2, MAX_TIMEOUT_MS);
      this.transmitCurrent();
      this.armTimer();
    }, this.timeoutMs);
    this.timer.unref();
  }

  private transmitCurrent(): void {
    const mtu = this.opts.mtu;
    let datagram: Buffer[] = [];
    let size = 0;
    const push = (record: Buffer): void => {
      if (size > 0 && size + record.length > mtu) {
        this.opts.transmit(Buffer.concat(datagram));
        datagram = [];
        size = 0;
      }
      datagram.push(record);
      size += record.length;
    };
    const room = Math.max(64, mtu - RECORD_OVERHEAD - HANDSHAKE_HEADER);
    for (const item of this.current) {
      if (item.kind === 'ccs') {
        push(this.records.protect(ContentType.changeCipherSpec, Buffer.of(1), item.epoch));
        continue;
      }
      let offset = 0;
      do {
        const part = item.body.subarray(offset, offset + room);
        const frag = encodeHandshakeFragment(item.msgType, item.body.length, item.messageSeq, offset, part);
        push(this.records.protect(ContentType.handshake, frag, item.epoch));
        offset += part.length;
      } while (offset < item.body.length);
    }
    if (size > 0) this.opts.transmit(Buffer.concat(datagram));
  }

  /**
   * Takes one received fragment; returns the messages it completes, in order. A fragment of an earlier
   * message means the peer retransmitted its flight: `retransmitted` is then true.
   */
  receive(f: HandshakeFragment): { messages: HandshakeMessage[]; retransmitted: boolean } {
    const messages: HandshakeMessage[] = [];
    if (f.messageSeq < this.recvSeq) return { messages, retransmitted: true };
    if (f.messageSeq >= this.recvSeq + MAX_AHEAD) return { messages, retransmitted: false };
    if (f.length > MAX_HANDSHAKE_MESSAGE)
      throw new DtlsError(Alert.decodeError, `handshake message of ${f.length} bytes is too large`);
    let r = this.incoming.get(f.messageSeq);
    if (r === undefined) {
      r = {
        msgType: f.msgType,
        body: Buffer.alloc(f.length),
        have: new Uint8Array(f.length),
        missing: f.length,
      };
      this.incoming.set(f.messageSeq, r);
    } else if (r.msgType !== f.msgType || r.body.length !== f.length) {
      throw new DtlsError(Alert.illegalParameter, 'fragments of one handshake message disagree');
    }
    f.body.copy(r.body, f.fragmentOffset);
    for (let i = f.fragmentOffset; i < f.fragmentOffset + f.body.length; i++) {
      if (r.have[i] === 0) {
        r.have[i] = 1;
        r.missing--;
      }
    }
    for (;;) {
      const next = this.incoming.get(this.recvSeq);
      if (next === undefined || next.missing > 0) break;
      this.incoming.delete(this.recvSeq);
      messages.push({ msgType: next.msgType, messageSeq: this.recvSeq, body: next.body });
      this.recvSeq++;
    }
    return { messages, retransmitted: false };
  }

  /** Appends a received message to the transcript. */
  record(m: HandshakeMessage): void {
    this.transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
  }

  /** SHA-256 of the transcript so far. */
  hash(): Buffer {
    const h = createHash('sha256');
    for (const m of this.transcript) h.update(m);
    return h.digest();
  }

  /** The transcript so far as one buffer (what CertificateVerify signs). */
  transcriptBytes(): Buffer {
    return Buffer.concat(this.transcript);
  }
}
