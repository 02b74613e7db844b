/**
 * @stomp/stompjs over plain TCP: stompjs expects a WebSocket-like object, so a small wrapper gives it one
 * whose messages are raw TCP chunks (stompjs's parser copes with frames split anywhere).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Client, type IFrame, type IMessage, type IStompSocket, type StompConfig } from '@stomp/stompjs';

/** A WebSocket-shaped TCP connection. */
export class TcpWebSocket implements IStompSocket {
  url: string;
  binaryType = 'arraybuffer';
  readyState = 0;
  onclose: ((ev?: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  onmessage: ((ev: { data: ArrayBuffer }) => unknown) | null = null;
  onopen: ((ev?: unknown) => unknown) | null = null;
  private readonly socket: Socket;

  constructor(port: number, host = '127.0.0.1') {
    this.url = `tcp://${host}:${port}`;
    this.socket = netConnect(port, host, () => {
      this.readyState = 1;
      this.onopen?.();
    });
    this.socket.on('data', (d) => {
      const ab = d.buffer.slice(d.byteOffset, d.byteOffset + d.length) as ArrayBuffer;
      this.onmessage?.({ data: ab });
    });
    this.socket.on('error', (err) => this.onerror?.(err));
    this.socket.on('close', () => {
      this.readyState = 3;
      this.onclose?.({ code: 1000, reason: 'closed', wasClean: true });
    });
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (typeof data === 'string') this.socket.write(data);
    else if (ArrayBuffer.isView(data))
      this.socket.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else this.socket.write(Buffer.from(data as ArrayBuffer));
  }

  close(): void {
    this.readyState = 2;
    this.socket.end();
  }

  terminate(): void {
    this.socket.destroy();
  }
}

/** A stompjs Client on a TCP port; resolves once connected (rejects on ERROR or close). */
export function stompjs(port: number, config: StompConfig = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new TcpWebSocket(port),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => undefined,
      ...config,
    });
    client.onConnect = () => resolve(client);
    client.onStompError = (f: IFrame) => reject(new Error(`${f.headers.message}: ${f.body}`));
    client.onWebSocketClose = () => reject(new Error('closed before CONNECTED'));
    client.activate();
  });
}

/** Collects messages of one subscription. */
export function inbox() {
  const got: IMessage[] = [];
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    got,
    on: (m: IMessage) => {
      got.push(m);
      waiters = waiters.filter((w) => {
        if (got.length < w.n) return true;
        w.resolve();
        return false;
      });
    },
    wait(n: number, ms = 5000): Promise<IMessage[]> {
      if (got.length >= n) return Promise.resolve(got.slice(0, n));
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`expected ${n} messages, got ${got.length}`)), ms);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(got.slice(0, n));
          },
        });
      });
    },
  };
}
