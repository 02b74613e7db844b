/**
 * A bare MQTT client over a TCP socket, speaking through mqtt-packet (a codec independent of Hermod's), for
 * tests that need exact control over the bytes and packets on the wire.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export type { Packet };

export class RawClient {
  readonly received: Packet[] = [];
  private waiters: Array<{ match: (p: Packet) => boolean; resolve: (p: Packet) => void }> = [];
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private closedPromise: Promise<void>;
  closed = false;

  private constructor(
    readonly socket: Socket,
    readonly version: 3 | 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.onPacket(p));
    this.parser.on('error', () => undefined);
    socket.on('data', (d) => this.parser.parse(d));
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection (no CONNECT sent). */
  static open(port: number, version: 3 | 4 | 5 = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect(port, '127.0.0.1', () => resolve(new RawClient(s, version)));
      s.once('error', reject);
    });
  }

  /** Opens a connection and completes CONNECT/CONNACK. */
  static async connect(
    port: number,
    connect: Partial<mqttPacket.IConnectPacket> = {},
    version: 3 | 4 | 5 = 4,
    connackTimeoutMs = 3000,
  ): Promise<{ client: RawClient; connack: mqttPacket.IConnackPacket }> {
    const client = await RawClient.open(port, version);
    client.send({
      cmd: 'connect',
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clientId: `raw-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      keepalive: 60,
      ...connect,
    } as mqttPacket.IConnectPacket);
    const connack = (await client.next('connack', connackTimeoutMs)) as mqttPacket.IConnackPacket;
    return { client, connack };
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** The next packet (of a given command), already received or still to come. */
  next(cmd?: Packet['cmd'], timeoutMs = 3000): Promise<Packet> {
    const match = (p: Packet) => cmd === undefined || p.cmd === cmd;
    const i = this.received.findIndex(match);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== wrapped);
        reject(
          new Error(
            `timed out waiting for ${cmd ?? 'a packet'}; got ${this.received.map((p) => p.cmd).join(',') || 'nothing'}`,
          ),
        );
      }, timeoutMs);
      const wrapped = (p: Packet) => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.push({ match, resolve: wrapped });
    });
  }

  /** Resolves when the broker closes the connection (rejects after the timeout). */
  waitClosed(timeoutMs = 3000): Promise<void> {
    return Promise.race([
      this.closedPromise,
      new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('connection still open')), timeoutMs),
      ),
    ]);
  }

  /** Ends the connection without DISCONNECT (an abnormal close for the broker). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends DISCONNECT and ends. */
  disconnect(reasonCode = 0): void {
    this.send({ cmd: 'disconnect', reasonCode } as Packet);
    this.socket.end();
  }

  private onPacket(p: Packet): void {
    const i = this.waiters.findIndex((w) => w.match(p));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(p);
      return;
    }
    this.received.push(p);
  }
}
