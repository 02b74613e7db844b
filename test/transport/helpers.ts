import net from 'node:net';

export { fixture, readFixture } from '../helpers/fixtures.js';

import type { CloseReason, Connection, ConnectionHandler } from '../../src/transport/connection.js';
import { createListener } from '../../src/transport/index.js';
import type { Listener, ListenerOptions, ListenerRefusal } from '../../src/transport/listener.js';

/** Listener options for tests: loopback, port 0, no limits. */
export function listenerOptions(
  type: ListenerOptions['type'],
  overrides: Partial<ListenerOptions> = {},
  tcp: Partial<ListenerOptions['tcp']> = {},
): ListenerOptions {
  return {
    id: `${type}:test`,
    type,
    bind: { host: '127.0.0.1', port: 0 },
    maxConnections: Number.POSITIVE_INFINITY,
    maxConnRate: Number.POSITIVE_INFINITY,
    proxyProtocol: false,
    proxyProtocolTimeoutMs: 3000,
    ...overrides,
    tcp: {
      nodelay: true,
      backlog: 128,
      highWatermark: 1024 * 1024,
      sendTimeoutMs: 15_000,
      keepalive: false,
      ...tcp,
    },
  };
}

/** A started listener with everything it reported collected for assertions. */
export interface Harness {
  listener: Listener;
  port: number;
  connections: Connection[];
  refusals: Array<{ reason: ListenerRefusal; peerhost: string; detail?: string }>;
  /** Resolves with the n-th accepted connection (0-based). */
  connection(n?: number): Promise<Connection>;
  /** Resolves once `count` refusals were reported. */
  refused(count?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a listener for `options` and records its events. */
export async function startHarness(options: ListenerOptions): Promise<Harness> {
  const connections: Connection[] = [];
  const refusals: Harness['refusals'] = [];
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const listener = createListener(options, {
    onConnection(conn) {
      connections.push(conn);
      wake();
    },
    onRefused(reason, peerhost, detail) {
      refusals.push({ reason, peerhost, detail });
      wake();
    },
  });
  await listener.start();
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else waiters.push(check);
      };
      check();
    });
  return {
    listener,
    port: listener.address()!.port,
    connections,
    refusals,
    async connection(n = 0) {
      await until(() => connections.length > n);
      return connections[n];
    },
    refused: (count = 1) => until(() => refusals.length >= count),
    stop: () => listener.stop(true),
  };
}

/** A protocol handler that records what it sees; optionally echoes data back. */
export class Recorder implements ConnectionHandler {
  readonly chunks: Buffer[] = [];
  closeReason: CloseReason | undefined;
  closeError: Error | undefined;
  closeCount = 0;
  drains = 0;
  private readonly closedWaiters: Array<() => void> = [];
  private readonly dataWaiters: Array<() => void> = [];

  constructor(private readonly echoTo?: Connection) {}

  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.echoTo?.send(chunk);
    for (const w of this.dataWaiters.splice(0)) w();
  }

  onClose(reason: CloseReason, error?: Error): void {
    this.closeCount++;
    this.closeReason = reason;
    this.closeError = error;
    for (const w of this.closedWaiters.splice(0)) w();
  }

  onDrain(): void {
    this.drains++;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves once at least `bytes` bytes arrived. */
  waitBytes(bytes: number): Promise<Buffer> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.received.length >= bytes) resolve(this.received);
        else this.dataWaiters.push(check);
      };
      check();
    });
  }

  /** Resolves with the close reason once onClose ran. */
  closed(): Promise<CloseReason> {
    return new Promise((resolve) => {
      if (this.closeReason !== undefined) resolve(this.closeReason);
      else this.closedWaiters.push(() => resolve(this.closeReason!));
    });
  }
}

/** Connects a plain TCP client. */
export function connectTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** Collects everything a client socket receives. */
export function collect(sock: net.Socket): { data: () => Buffer; bytes: (n: number) => Promise<Buffer> } {
  const chunks: Buffer[] = [];
  const waiters: Array<() => void> = [];
  sock.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const w of waiters.splice(0)) w();
  });
  const data = (): Buffer => Buffer.concat(chunks);
  return {
    data,
    bytes: (n) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (data().length >= n) resolve(data());
          else waiters.push(check);
        };
        check();
      }),
  };
}

/** Resolves when the socket has closed. */
export function closedSocket(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (sock.destroyed && sock.closed) resolve();
    else sock.once('close', () => resolve());
  });
}

/** Polls `cond` until true or `ms` elapse. */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets the current tick finish (and with it the write batch). */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
