/**
 * The one interface every transport (tcp, tls, ws, wss, udp, dtls) gives a protocol channel.
 * A channel never sees a socket: it reads bytes through its handler and writes frames through `send`.
 */

export type TransportKind = 'tcp' | 'ssl' | 'ws' | 'wss' | 'udp' | 'dtls';

/** What the TLS layer learned about the peer's certificate (when one was presented). */
export interface PeerCertificate {
  /** Subject common name. */
  cn?: string;
  /** Full subject distinguished name, RFC 4514 order ("CN=dev1,O=Acme"). */
  dn?: string;
  /** The certificate itself, PEM encoded. */
  pem?: string;
}

/** Why a connection ended, as seen by the transport. */
export type CloseReason =
  | 'closed' // the peer ended the stream normally
  | 'reset' // the socket errored (ECONNRESET, EPIPE, …)
  | 'local' // we closed it
  | 'timeout';

export interface ConnectionHandler {
  /** Bytes from the peer. For datagram transports one call per datagram. */
  onData(chunk: Buffer): void;
  /**
   * Bytes from the peer that are valid only during this call: a view of the transport's shared read buffer,
   * overwritten by the next read. A handler that offers this keeps no reference into `chunk` (nor any view of
   * it) once it returns; the transport then calls it instead of onData and skips copying every read.
   */
  onBorrowedData?(chunk: Buffer): void;
  /** The connection is gone; called exactly once. */
  onClose(reason: CloseReason, error?: Error): void;
  /** The transport's send buffer drained after `congested` became true. */
  onDrain?(): void;
}

export interface Connection {
  /** Process-unique, increasing. */
  readonly id: number;
  readonly transport: TransportKind;
  /** Listener identity, `<type>:<name>` for MQTT listeners (e.g. `tcp:default`), `<gw>:<type>:<name>` for gateways. */
  readonly listenerId: string;
  readonly peerhost: string;
  readonly peerport: number;
  readonly sockport: number;
  /** The local address the peer reached (the PROXY header's destination when one was given). */
  readonly sockhost: string;
  /** 'stream' transports may coalesce frames into one write; 'datagram' sends each frame on its own. */
  readonly kind: 'stream' | 'datagram';
  readonly peerCert: PeerCertificate | undefined;
  /** The identity a DTLS peer authenticated with a pre-shared key (absent otherwise). */
  readonly pskIdentity?: string;

  /** Installs the protocol handler; data arriving earlier is held until then. */
  setHandler(handler: ConnectionHandler): void;

  /**
   * Queues one frame. Stream transports batch every frame queued during one event-loop turn into a single write.
   * The buffer must not be modified afterwards (fan-out shares one buffer between many connections).
   */
  send(frame: Buffer): void;

  /**
   * Queues a shared frame with a 16-bit packet id written at `offset` in this connection's copy only.
   * Fan-out serializes a QoS 1/2 PUBLISH once and every subscriber patches its own id.
   */
  sendPatched(frame: Buffer, offset: number, packetId: number): void;

  /** True while the transport holds more unsent bytes than its high-water mark. */
  readonly congested: boolean;
  /** Bytes accepted by `send` and not yet handed to the OS. */
  readonly pendingBytes: number;

  /** Stops reading from the peer (back-pressure); `resume` restarts it. */
  pause(): void;
  resume(): void;

  /**
   * Flushes what is queued, then closes gracefully. Idempotent. `peerDone`: the peer has said it sends
   * nothing more (an MQTT DISCONNECT from the client), so a transport with nothing left to hand on may close
   * at once instead of waiting for the peer's end of the stream.
   */
  close(peerDone?: boolean): void;
  /** Drops the connection at once, discarding queued frames. Idempotent. */
  destroy(): void;
  readonly closed: boolean;

  /** Counters for the clients API. */
  readonly stats: ConnectionStats;
}

export interface ConnectionStats {
  recvOct: number;
  recvCnt: number;
  sendOct: number;
  sendCnt: number;
}
