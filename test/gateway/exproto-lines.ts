/** Line clients for ExProto tests: a raw TCP socket and a UDP socket, each reading "\n"-ended lines. */
import dgram from 'node:dgram';
import net from 'node:net';
import { DtlsClient, type DtlsClientOptions } from '../../src/transport/dtls/client.js';

/** Lines received, and waiting for one. */
class Lines {
  readonly got: string[] = [];
  private rest = '';
  private waiters: Array<() => void> = [];
  closed = false;

  push(chunk: Buffer): void {
    const parts = (this.rest + chunk.toString()).split('\n');
    this.rest = parts.pop()!;
    this.got.push(...parts);
    this.wake();
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first line received starting with `prefix` (removed from the buffer); rejects after `ms`. */
  async next(prefix: string, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.got.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.got.splice(i, 1)[0]!;
      if (Date.now() > end) throw new Error(`no line "${prefix}…" (got ${JSON.stringify(this.got)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

/** A TCP line client. */
export class TcpLines extends Lines {
  private constructor(readonly sock: net.Socket) {
    super();
    sock.on('data', (c) => this.push(c));
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static open(port: number): Promise<TcpLines> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new TcpLines(s)));
      s.once('error', reject);
    });
  }

  send(line: string): void {
    this.sock.write(`${line}\n`);
  }

  /** Resolves once the gateway closed the socket. */
  async waitClosed(ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  end(): void {
    this.sock.destroy();
  }
}

/** A UDP line client: one line per datagram. */
export class UdpLines extends Lines {
  private readonly sock = dgram.createSocket('udp4');

  constructor(private readonly port: number) {
    super();
    this.sock.on('message', (m) => this.push(m));
  }

  send(line: string): void {
    this.sock.send(`${line}\n`, this.port, '127.0.0.1');
  }

  end(): void {
    this.sock.close();
  }
}

/** A line client inside a DTLS session (this project's DTLS client): one line per datagram. */
export class DtlsLines extends Lines {
  private constructor(private readonly client: DtlsClient) {
    super();
    client.onData = (m) => this.push(m);
  }

  static async connect(port: number, opts: Partial<DtlsClientOptions>): Promise<DtlsLines> {
    const c = new DtlsClient({ host: '127.0.0.1', port, ...opts });
    await c.connect();
    return new DtlsLines(c);
  }

  send(line: string): void {
    this.client.send(`${line}\n`);
  }

  end(): void {
    this.client.close();
  }
}
