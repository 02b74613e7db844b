/** DTLS test helpers: an echo server on a loopback port built from DtlsServer, and a PSK client. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { Association } from '../../../src/transport/dtls/association.js';
import { DtlsClient, type DtlsClientOptions } from '../../../src/transport/dtls/client.js';
import { ClientHandshake } from '../../../src/transport/dtls/client-handshake.js';
import { PskStore } from '../../../src/transport/dtls/psk.js';
import { DtlsServer, type DtlsServerOptions, type DtlsSession } from '../../../src/transport/dtls/server.js';

export interface EchoServer {
  port: number;
  server: DtlsServer;
  sessions: DtlsSession[];
  failures: string[];
  /** Resolves with the next failure reported (a handshake that ended with an alert). */
  nextFailure(): Promise<string>;
  stop(): Promise<void>;
}

/** PSKs every test server knows. */
export function testPsk(): PskStore {
  const psk = new PskStore();
  psk.set('device1', 'secret');
  psk.set('id', Buffer.from('0102030405060708', 'hex'));
  return psk;
}

/** A DTLS server answering every datagram with "echo:" + the datagram. */
export async function startEchoServer(opts: Partial<DtlsServerOptions> = {}): Promise<EchoServer> {
  const sock = dgram.createSocket('udp4');
  const sessions: DtlsSession[] = [];
  const failures: string[] = [];
  let waiting: ((f: string) => void) | undefined;
  const server = new DtlsServer(
    { psk: testPsk().lookup, ...opts, transmit: (d, p, a) => sock.send(d, p, a) },
    {
      onSession: (s) => {
        sessions.push(s);
        s.onData = (d) => s.send(Buffer.concat([Buffer.from('echo:'), d]));
      },
      onFailure: (_peer, reason) => {
        failures.push(reason);
        waiting?.(reason);
        waiting = undefined;
      },
    },
  );
  sock.on('message', (m, r) => server.receive(m, r.address, r.port));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    port: sock.address().port,
    server,
    sessions,
    failures,
    nextFailure: () => new Promise((r) => (waiting = r)),
    stop: async () => {
      server.closeAll();
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

/** A connected client; `ask` sends one datagram and waits for the next one back. */
export async function connectClient(
  port: number,
  opts: Partial<DtlsClientOptions> = {},
): Promise<DtlsClient & { ask(data: string): Promise<string> }> {
  const c = new DtlsClient({
    host: '127.0.0.1',
    port,
    psk: { identity: 'device1', key: Buffer.from('secret') },
    ...opts,
  });
  await c.connect();
  return Object.assign(c, {
    ask(data: string): Promise<string> {
      return new Promise<string>((resolve) => {
        c.onData = (d) => resolve(d.toString());
        c.send(data);
      });
    },
  });
}

/**
 * Runs `openssl s_client -dtls1_2` with `args`, sends `line` once the handshake is done and resolves with
 * what the server answered (or rejects with what openssl printed when no answer came).
 */
export function opensslExchange(
  port: number,
  args: string[],
  line: string,
  timeoutMs = 8000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-quiet', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const finish = (f: () => void): void => {
      clearTimeout(timer);
      p.kill('SIGKILL');
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no answer from the server: ${err}`))),
      timeoutMs,
    );
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n') || out.length >= line.length + 5) finish(() => resolve(out.trim()));
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    // s_client reads stdin only once the handshake is done; stdin stays open (EOF would close the session).
    p.stdin.write(`${line}\n`);
    p.on('close', () => finish(() => reject(new Error(`openssl exited: ${err}`))));
  });
}

/**
 * A client-side association without a socket, speaking PSK as device1 through `transmit`; `start` sends its
 * first ClientHello (tests deliver the server's datagrams with `client.receive`).
 */
export function memoryClient(transmit: (d: Buffer) => void): { client: Association; start(): void } {
  const client = new Association({ transmit, onEstablished() {}, onData() {}, onClose() {} }, 1400);
  const logic = new ClientHandshake(
    client,
    { psk: { identity: 'device1', key: Buffer.from('secret') } },
    () => client.markEstablished(),
  );
  client.logic = logic;
  return { client, start: () => logic.start() };
}
