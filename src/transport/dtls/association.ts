/**
 * One DTLS association with one peer address, either side: feeds records through the record layer,
 * handshake fragments to the handshake (server or client logic), alerts to closing, and application data to
 * the user once established. Any DtlsError ends the association with the alert it carries.
 */
import { HandshakeFlights, type HandshakeMessage } from './flight.js';
import { RecordLayer } from './record.js';
import { Alert, alertName, ContentType, DtlsError, parseHandshakeFragments, parseRecords } from './wire.js';

/** Why an association ended. */
export type AssociationEnd =
  | { kind: 'close_notify' }
  | { kind: 'alert_received'; alert: number }
  | { kind: 'alert_sent'; alert: number; message: string }
  | { kind: 'timeout' }
  | { kind: 'local' };

/** What the server or client logic of the handshake implements. */
export interface HandshakeLogic {
  onMessage(m: HandshakeMessage): void;
  onChangeCipherSpec(): void;
  /** True while the next record of the new epoch must be the peer's Finished. */
  readonly awaitingFinished: boolean;
}

export interface AssociationEvents {
  transmit(datagram: Buffer): void;
  onEstablished(): void;
  onData(plain: Buffer): void;
  onClose(end: AssociationEnd): void;
}

/** Describes an end for logs: "alert sent: unknown_psk_identity (no key for device9)". */
export function describeEnd(end: AssociationEnd): string {
  switch (end.kind) {
    case 'alert_sent':
      return `alert sent: ${alertName(end.alert)} (${end.message})`;
    case 'alert_received':
      return `alert received: ${alertName(end.alert)}`;
    default:
      return end.kind;
  }
}

export class Association {
  readonly records: RecordLayer;
  readonly flights: HandshakeFlights;
  logic: HandshakeLogic | undefined;
  private isEstablished = false;
  private isClosed = false;

  constructor(
    private readonly events: AssociationEvents,
    mtu: number,
    seqs: { record: number; send: number; recv: number } = { record: 0, send: 0, recv: 0 },
  ) {
    this.records = new RecordLayer(seqs.record);
    this.flights = new HandshakeFlights(
      this.records,
      { mtu, transmit: (d) => this.transmit(d), onTimeout: () => this.end({ kind: 'timeout' }) },
      seqs.send,
      seqs.recv,
    );
  }

  get established(): boolean {
    return this.isEstablished;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The handshake completed: application data may flow. */
  markEstablished(): void {
    if (this.isEstablished) return;
    this.isEstablished = true;
    this.events.onEstablished();
  }

  /** One datagram from the peer. */
  receive(datagram: Buffer): void {
    if (this.isClosed) return;
    try {
      for (const rec of parseRecords(datagram)) {
        if (this.isClosed) return;
        const plain = this.records.open(rec);
        if (plain === undefined) {
          // Invalid records are dropped, except the peer's first record under the new keys during the
          // handshake: it fails only when the keys disagree (a wrong PSK), which should end the handshake
          // with a reason instead of a long timeout.
          if (this.logic?.awaitingFinished && rec.epoch === this.records.readEpoch && rec.epoch > 0)
            throw new DtlsError(Alert.badRecordMac, 'the peer Finished did not authenticate (wrong key?)');
          continue;
        }
        this.dispatch(rec.type, plain);
      }
    } catch (err) {
      if (err instanceof DtlsError) this.fail(err);
      else this.fail(new DtlsError(Alert.internalError, (err as Error).message));
    }
  }

  private dispatch(type: number, plain: Buffer): void {
    switch (type) {
      case ContentType.handshake: {
        if (this.logic === undefined) return;
        for (const f of parseHandshakeFragments(plain)) {
          const { messages, retransmitted } = this.flights.receive(f);
          // A repeated earlier flight means ours went missing (a finished side resends its last flight).
          if (retransmitted) this.flights.retransmit();
          for (const m of messages) this.logic?.onMessage(m);
        }
        return;
      }
      case ContentType.changeCipherSpec:
        if (plain.length !== 1 || plain[0] !== 1)
          throw new DtlsError(Alert.decodeError, 'malformed ChangeCipherSpec');
        this.logic?.onChangeCipherSpec();
        return;
      case ContentType.alert: {
        if (plain.length !== 2) throw new DtlsError(Alert.decodeError, 'malformed alert');
        const [level, desc] = [plain[0]!, plain[1]!];
        if (desc === Alert.closeNotify) {
          this.sendAlert(1, Alert.closeNotify);
          this.end({ kind: 'close_notify' });
        } else if (level === 2) this.end({ kind: 'alert_received', alert: desc });
        return;
      }
      case ContentType.applicationData:
        if (!this.isEstablished)
          throw new DtlsError(Alert.unexpectedMessage, 'application data before Finished');
        this.events.onData(plain);
        return;
      default:
        throw new DtlsError(Alert.unexpectedMessage, `unknown record type ${type}`);
    }
  }

  /** Protects and sends one application datagram. */
  send(plain: Buffer): void {
    if (this.isClosed || !this.isEstablished) return;
    this.transmit(this.records.protect(ContentType.applicationData, plain));
  }

  /** Sends close_notify and ends the association. */
  close(): void {
    if (this.isClosed) return;
    this.sendAlert(1, Alert.closeNotify);
    this.end({ kind: 'local' });
  }

  /** Ends for lack of progress (a handshake past its deadline). */
  expire(): void {
    this.end({ kind: 'timeout' });
  }

  /** Ends without telling the peer (its address is gone or it was replaced). */
  drop(): void {
    this.end({ kind: 'local' });
  }

  /** Sends the error's alert (fatal) and ends. */
  fail(err: DtlsError): void {
    if (this.isClosed) return;
    this.sendAlert(2, err.alert);
    this.end({ kind: 'alert_sent', alert: err.alert, message: err.message });
  }

  private sendAlert(level: number, desc: number): void {
    try {
      this.transmit(this.records.protect(ContentType.alert, Buffer.of(level, desc)));
    } catch {
      // Sending an alert is a courtesy; a failure to protect it changes nothing.
    }
  }

  private transmit(datagram: Buffer): void {
    if (!this.isClosed) this.events.transmit(datagram);
  }

  private end(end: AssociationEnd): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.flights.stopTimer();
    this.events.onClose(end);
  }
}
