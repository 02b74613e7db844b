/**
 * A DTLS 1.2 client on its own UDP socket: `connect()` resolves once the handshake completed; then `send`
 * and `onData` carry plaintext datagrams. Tests and the benchmark drive the server with it.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Association, type AssociationEnd, describeEnd } from './association.js';
import { ClientHandshake, type ClientHandshakeConfig, type ClientSession } from './client-handshake.js';

export interface DtlsClientOptions extends ClientHandshakeConfig {
  host: string;
  port: number;
  mtu?: number;
}

export class DtlsClient {
  onData: (data: Buffer) => void = () => {};
  onClose: (end: AssociationEnd) => void = () => {};
  /** The session to resume next time (set once connected). */
  session: ClientSession | undefined;
  private readonly sock: dgram.Socket;
  private readonly assoc: Association;
  private ended: AssociationEnd | undefined;
  private pending: ((err: Error) => void) | undefined;

  constructor(private readonly opts: DtlsClientOptions) {
    this.sock = dgram.createSocket(isIPv6(opts.host) ? 'udp6' : 'udp4');
    this.sock.on('message', (m) => this.assoc.receive(m));
    this.sock.on('error', () => {});
    this.assoc = new Association(
      {
        transmit: (d) => this.sock.send(d, opts.port, opts.host),
        onEstablished: () => {},
        onData: (d) => this.onData(d),
        onClose: (end) => {
          this.ended = end;
          this.pending?.(new Error(`DTLS handshake failed: ${describeEnd(end)}`));
          this.pending = undefined;
          this.onClose(end);
          this.sock.close();
        },
      },
      opts.mtu ?? 1400,
    );
  }

  /** Handshakes; rejects with the alert or timeout that ended it. */
  connect(): Promise<ClientSession> {
    return new Promise((resolve, reject) => {
      const logic = new ClientHandshake(this.assoc, this.opts, (s) => {
        this.session = s;
        this.pending = undefined;
        this.assoc.markEstablished();
        resolve(s);
      });
      this.assoc.logic = logic;
      this.pending = reject;
      this.sock.bind(0, () => logic.start());
    });
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** The local UDP port (once connecting). */
  get localPort(): number {
    return this.sock.address().port;
  }

  /** Raw access for tests that inject their own datagrams. */
  sendRaw(datagram: Buffer): void {
    this.sock.send(datagram, this.opts.port, this.opts.host);
  }

  send(data: Buffer | string): void {
    this.assoc.send(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Sends close_notify. */
  close(): void {
    this.assoc.close();
  }
}
