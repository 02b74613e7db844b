/** A small MQTT-SN test client over real UDP (loopback) or DTLS, with its own codec. */
import dgram from 'node:dgram';
import { DtlsClient, type DtlsClientOptions } from '../../../src/transport/dtls/client.js';
import { build, decode, type Msg, T, typeName } from './codec.js';

/** How the client's datagrams travel: plain UDP or a DTLS session. */
interface SnLink {
  send(datagram: Buffer): void;
  close(): void;
  readonly localPort: number;
}

export class SnClient {
  readonly inbox: Msg[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly link: SnLink) {}

  private receive(raw: Buffer): void {
    let m: Msg;
    try {
      m = decode(raw);
    } catch (err) {
      m = { type: -1, raw };
      process.emitWarning(`mqttsn test client: undecodable datagram: ${(err as Error).message}`);
    }
    this.inbox.push(m);
    for (const w of this.waiters.splice(0)) w();
  }

  /** A client bound on an ephemeral loopback port, talking to the gateway on `port`. */
  static async open(port: number): Promise<SnClient> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const c = new SnClient({
      send: (d) => sock.send(d, port, '127.0.0.1'),
      close: () => sock.close(),
      localPort: sock.address().port,
    });
    sock.on('message', (raw) => c.receive(raw));
    return c;
  }

  /** A client with a DTLS session (this project's DTLS client) to the gateway's dtls listener on `port`. */
  static async overDtls(port: number, opts: Partial<DtlsClientOptions>): Promise<SnClient> {
    const d = new DtlsClient({ host: '127.0.0.1', port, ...opts });
    await d.connect();
    const c = new SnClient({ send: (x) => d.send(x), close: () => d.close(), localPort: d.localPort });
    d.onData = (raw) => c.receive(raw);
    return c;
  }

  /** Opens a client and logs in (clean session unless told otherwise). */
  static async connected(
    port: number,
    clientId: string,
    o: { duration?: number; clean?: boolean } = {},
  ): Promise<SnClient> {
    const c = await SnClient.open(port);
    c.send(build.connect(clientId, o));
    const ack = await c.next(T.CONNACK);
    if (ack.rc !== 0) throw new Error(`CONNACK rc ${ack.rc}`);
    return c;
  }

  get localPort(): number {
    return this.link.localPort;
  }

  send(datagram: Buffer): void {
    this.link.send(datagram);
  }

  /** The next message (of `type` when given; others before it are skipped and kept out of the inbox). */
  async next(type?: number, timeoutMs = 5000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => type === undefined || m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = end - Date.now();
      if (left <= 0) {
        const seen = this.inbox.map((m) => typeName(m.type)).join(',');
        throw new Error(
          `no ${type === undefined ? 'message' : typeName(type)} within ${timeoutMs} ms (inbox: ${seen})`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves if nothing (of `type`) arrives within `ms`; rejects with what arrived otherwise. */
  async nothing(ms = 300, type?: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const got = this.inbox.filter((m) => type === undefined || m.type === type);
    if (got.length > 0)
      throw new Error(`expected silence, got ${got.map((m) => typeName(m.type)).join(',')}`);
  }

  /** SUBSCRIBE by name and wait for the SUBACK. */
  async subscribe(msgId: number, topic: string, qos: 0 | 1 | 2 = 0): Promise<Msg> {
    this.send(build.subscribe(msgId, topic, { qos }));
    return this.next(T.SUBACK);
  }

  /** REGISTER a name and wait for the REGACK. */
  async register(msgId: number, topic: string): Promise<Msg> {
    this.send(build.register(msgId, topic));
    return this.next(T.REGACK);
  }

  close(): void {
    try {
      this.link.close();
    } catch {
      // already closed
    }
  }
}
