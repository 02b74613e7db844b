import type net from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { logger } from '../log.js';
import type { PeerCertificate } from './connection.js';
import {
  type ConnectionConfig,
  closedEarly,
  kFail,
  kReceive,
  kTransportClosed,
  kTransportError,
  NodeSocketConnection,
  type PeerAddress,
} from './stream-connection.js';

// Shared option objects: ws copies them, so no allocation per send on our side.
const WHOLE = { binary: true, fin: true };
const FRAGMENT = { binary: true, fin: false };

const kOwner = Symbol('hermod.ws-connection');
type OwnedWs = WebSocket & { [kOwner]?: WsConnection };

/** A connection over an accepted WebSocket; each flush goes out as one binary message. */
export class WsConnection extends NodeSocketConnection {
  /** `sock` is the socket under `ws` (TCP or TLS): back-pressure is read from it. */
  constructor(
    private readonly ws: WebSocket,
    sock: net.Socket,
    config: ConnectionConfig,
    peer: PeerAddress,
    peerCert: PeerCertificate | undefined = undefined,
  ) {
    super(sock, config, peer, peerCert);
    (ws as OwnedWs)[kOwner] = this;
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (ws.readyState !== ws.OPEN) process.nextTick(closedEarly, this);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (!this.closed) this.ws.resume();
  }

  protected writeOne(buf: Buffer): void {
    this.ws.send(buf, WHOLE);
  }

  protected writeMany(bufs: Buffer[]): void {
    // Fragments of one message: the peer still sees the batch as a single WebSocket message.
    const last = bufs.length - 1;
    for (let i = 0; i <= last; i++) this.ws.send(bufs[i], i === last ? WHOLE : FRAGMENT);
  }

  protected endTransport(): boolean {
    this.ws.close(1000);
    return false;
  }

  protected killTransport(): void {
    this.ws.terminate();
  }
}

function onMessage(this: OwnedWs, data: RawData, isBinary: boolean): void {
  const conn = this[kOwner]!;
  if (isBinary) conn[kReceive](data as Buffer);
  // MQTT-6.0.0-1: anything but binary frames closes the connection.
  else conn[kFail]('reset', new Error('text WebSocket message; MQTT needs binary frames'));
}

function onError(this: OwnedWs, err: Error): void {
  const conn = this[kOwner];
  // ws has already answered close 1009 (message too big) from the frame header, before buffering the payload.
  if ((err as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
    logger.warn(
      { peer: conn === undefined ? undefined : `${conn.peerhost}:${conn.peerport}` },
      'websocket: message larger than max_frame_size / mqtt.max_packet_size; closed with 1009',
    );
  conn?.[kTransportError](err);
}

function onClose(this: OwnedWs): void {
  this[kOwner]![kTransportClosed]();
}
