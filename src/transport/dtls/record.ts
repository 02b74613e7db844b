/**
 * The record layer of one DTLS association: the read and write epochs with their sequence numbers, the
 * pending cipher state a ChangeCipherSpec switches to, and the anti-replay window (RFC 6347 §4.1.2.6).
 */
import type { RecordCipher } from './suites.js';
import { DTLS_1_2, type DtlsRecord, encodeRecord } from './wire.js';

/** Size of the anti-replay window in records (RFC 6347 recommends 64). */
export const REPLAY_WINDOW = 64;
const MAX_SEQ = 2 ** 48 - 1;

/** Which record sequence numbers of one epoch were seen, over a sliding window. */
export class ReplayWindow {
  private highest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW);

  /** True if `seq` is new and not older than the window. Does not mark it (see `mark`). */
  fresh(seq: number): boolean {
    if (seq > this.highest) return true;
    if (seq <= this.highest - REPLAY_WINDOW) return false;
    return this.seen[seq % REPLAY_WINDOW] === 0;
  }

  /** Records `seq` as seen: call only once the record authenticated, so forgeries cannot move the window. */
  mark(seq: number): void {
    if (seq > this.highest) {
      const from = Math.max(this.highest + 1, seq - REPLAY_WINDOW + 1);
      for (let s = from; s <= seq; s++) this.seen[s % REPLAY_WINDOW] = 0;
      this.highest = seq;
    }
    this.seen[seq % REPLAY_WINDOW] = 1;
  }
}

interface ReadState {
  epoch: number;
  cipher: RecordCipher | undefined;
  window: ReplayWindow;
}

/** Protects outgoing and opens incoming records of one association. */
export class RecordLayer {
  private read: ReadState = { epoch: 0, cipher: undefined, window: new ReplayWindow() };
  private writeEpoch = 0;
  private writeCipher: RecordCipher | undefined;
  private writeSeq = 0;
  /** The write state of the previous epoch, kept to retransmit a flight that spans a ChangeCipherSpec. */
  private previous: { epoch: number; cipher: RecordCipher | undefined; seq: number } | undefined;
  private pendingRead: RecordCipher | undefined;
  private pendingWrite: RecordCipher | undefined;

  /** `firstSeq`: the first record number of epoch 0 (a server continues after its stateless HelloVerifyRequest). */
  constructor(firstSeq = 0) {
    this.writeSeq = firstSeq;
  }

  get readEpoch(): number {
    return this.read.epoch;
  }

  get currentWriteEpoch(): number {
    return this.writeEpoch;
  }

  /** Keys negotiated by the handshake, used after the next ChangeCipherSpec in each direction. */
  setPending(read: RecordCipher, write: RecordCipher): void {
    this.pendingRead = read;
    this.pendingWrite = write;
  }

  /** The peer's ChangeCipherSpec: later records of the peer are in the next epoch. False if none pending. */
  switchRead(): boolean {
    if (this.pendingRead === undefined) return false;
    this.read = { epoch: this.read.epoch + 1, cipher: this.pendingRead, window: new ReplayWindow() };
    this.pendingRead = undefined;
    return true;
  }

  /** Our ChangeCipherSpec: records we write afterwards are in the next epoch. */
  switchWrite(): void {
    this.previous = { epoch: this.writeEpoch, cipher: this.writeCipher, seq: this.writeSeq };
    this.writeEpoch++;
    this.writeCipher = this.pendingWrite;
    this.writeSeq = 0;
    this.pendingWrite = undefined;
  }

  /** One record of `type` with `plain` in the current write epoch (or the previous one, for a retransmission). */
  protect(type: number, plain: Buffer, epoch = this.writeEpoch): Buffer {
    const usePrevious = epoch !== this.writeEpoch && this.previous?.epoch === epoch;
    const state = usePrevious ? this.previous! : undefined;
    const cipher = state ? state.cipher : this.writeCipher;
    const seq = state ? state.seq++ : this.writeSeq++;
    if (seq > MAX_SEQ) throw new Error('record sequence number space exhausted');
    const fragment = cipher === undefined ? plain : cipher.encrypt(type, DTLS_1_2, epoch, seq, plain);
    return encodeRecord(type, DTLS_1_2, epoch, seq, fragment);
  }

  /**
   * The plaintext of a record of the current read epoch, or undefined when it must be dropped silently:
   * another epoch, a replay, or failed authentication (RFC 6347 §4.1.2.7).
   */
  open(rec: DtlsRecord): Buffer | undefined {
    const st = this.read;
    if (rec.epoch !== st.epoch || !st.window.fresh(rec.seq)) return undefined;
    const plain =
      st.cipher === undefined
        ? rec.fragment
        : st.cipher.decrypt(rec.type, rec.version, rec.epoch, rec.seq, rec.fragment);
    if (plain === undefined) return undefined;
    st.window.mark(rec.seq);
    return plain;
  }
}
