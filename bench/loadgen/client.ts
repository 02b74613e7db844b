/**
 * A minimal MQTT 3.1.1 client over a raw socket for the load generator: it parses only what a broker sends
 * a client (CONNACK, SUBACK, PUBLISH, acks), answers PUBLISHes with acks batched per received chunk, and
 * hands everything else to a sink. No per-message allocation beyond what the socket itself does.
 */
import net from 'node:net';
import {
  CONNACK,
  connectFrame,
  DISCONNECT,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  subscribeFrame,
  writeAck,
} from './frames.js';

/** What the scenario does with traffic. Methods, not closures: one sink object serves every client. */
export interface ClientSink {
  /** A PUBLISH whose payload is buf[payload, end); `now` is performance.now() when the chunk arrived. */
  onPublish(
    c: RawClient,
    buf: Buffer,
    payload: number,
    end: number,
    qos: number,
    dup: boolean,
    now: number,
  ): void;
  /** PUBACK, PUBREC or PUBCOMP for a PUBLISH this client sent (PUBREL is already answered). */
  onAck(c: RawClient, type: number, packetId: number): void;
  /** The connection ended without us closing it. */
  onLost(c: RawClient, why: string): void;
}

// Every socket reads into this buffer (see `onread`); a partial frame left at the end is copied out.
const readBuffer = Buffer.allocUnsafe(256 * 1024);
// Acks of one chunk are gathered here, then copied out in one write.
let ackScratch: Buffer = Buffer.allocUnsafe(64 * 1024);

export interface OpenOptions {
  host: string;
  port: number;
  clientId: string;
  keepalive?: number;
  localAddress?: string;
  /** Username and password sent in CONNECT. */
  credentials?: { username: string; password: string };
}

export class RawClient {
  /** Index of this client in its role (publisher i, subscriber j). */
  index = 0;
  readonly sock: net.Socket;
  private rest: Buffer | undefined;
  private closing = false;
  private onConnack: ((rc: number) => void) | undefined;
  private onSuback: ((codes: number[]) => void) | undefined;
  private failed: ((err: Error) => void) | undefined;

  private constructor(
    readonly id: string,
    public sink: ClientSink,
    sock: net.Socket,
  ) {
    this.sock = sock;
  }

  /** Connects and logs in; resolves after CONNACK 0. */
  static open(opts: OpenOptions, sink: ClientSink): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      let c: RawClient | undefined;
      const sock = net.connect({
        host: opts.host,
        port: opts.port,
        localAddress: opts.localAddress,
        noDelay: true,
        // Reads land in one shared buffer and are parsed at once: no stream machinery, no allocation.
        onread: {
          buffer: readBuffer,
          callback(n: number, buf: Uint8Array): boolean {
            c!.onData(buf as Buffer, n);
            return true;
          },
        },
      });
      c = new RawClient(opts.clientId, sink, sock);
      c.failed = reject;
      c.onConnack = (rc) => {
        c.failed = undefined;
        if (rc === 0) resolve(c);
        else {
          reject(new Error(`${opts.clientId}: CONNACK return code ${rc}`));
          sock.destroy();
        }
      };
      sock.on('connect', () => {
        sock.setNoDelay(true);
        sock.write(connectFrame(opts.clientId, opts.keepalive ?? 300, opts.credentials));
      });
      sock.on('error', (err) => {
        const f = c!.failed;
        c!.failed = undefined;
        if (f !== undefined) f(new Error(`${opts.clientId}: ${err.message}`));
      });
      sock.on('close', () => c!.onClose());
    });
  }

  /** Subscribes and resolves with the SUBACK return codes. */
  subscribe(filters: string[], qos: 0 | 1 | 2, packetId = 1): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.failed = reject;
      this.onSuback = (codes) => {
        this.failed = undefined;
        this.onSuback = undefined;
        resolve(codes);
      };
      this.sock.write(subscribeFrame(packetId, filters, qos));
    });
  }

  write(buf: Buffer): void {
    this.sock.write(buf);
  }

  /** Sends DISCONNECT and closes. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (!this.sock.destroyed) this.sock.end(DISCONNECT);
  }

  /** Drops the connection at once with a TCP reset: no TIME_WAIT left behind (many connections). */
  reset(): void {
    this.closing = true;
    if (!this.sock.destroyed) this.sock.resetAndDestroy();
  }

  private onClose(): void {
    const f = this.failed;
    this.failed = undefined;
    if (f !== undefined) f(new Error(`${this.id}: connection closed by the broker`));
    else if (!this.closing) this.sink.onLost(this, 'connection closed by the broker');
    this.closing = true;
  }

  /** `chunk[0, n)` arrived; `chunk` is the shared read buffer, so nothing may keep a reference to it. */
  private onData(chunk: Buffer, n: number): void {
    let buf = chunk;
    let len = n;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk.subarray(0, n)]);
      len = buf.length;
      this.rest = undefined;
    }
    const now = performance.now();
    let pos = 0;
    let acks = 0;
    const sink = this.sink;
    while (pos + 2 <= len) {
      const b0 = buf[pos];
      let i = pos + 1;
      let rl = 0;
      let mul = 1;
      let complete = false;
      while (i < len) {
        const b = buf[i++];
        rl += (b & 127) * mul;
        mul *= 128;
        if ((b & 128) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break; // the length itself is not all here yet
      const end = i + rl;
      if (end > len) break;
      const type = b0 >> 4;
      if (type === PUBLISH) {
        const qos = (b0 >> 1) & 3;
        let p = i + 2 + ((buf[i] << 8) | buf[i + 1]);
        if (qos > 0) {
          const pid = (buf[p] << 8) | buf[p + 1];
          p += 2;
          if ((acks + 1) * 4 > ackScratch.length) ackScratch = growScratch(acks);
          writeAck(ackScratch, acks * 4, qos === 1 ? PUBACK : PUBREC, pid);
          acks++;
        }
        sink.onPublish(this, buf, p, end, qos, (b0 & 8) !== 0, now);
      } else if (type === PUBREL) {
        if ((acks + 1) * 4 > ackScratch.length) ackScratch = growScratch(acks);
        writeAck(ackScratch, acks * 4, PUBCOMP, (buf[i] << 8) | buf[i + 1]);
        acks++;
      } else if (type === PUBACK || type === PUBREC || type === PUBCOMP) {
        const pid = (buf[i] << 8) | buf[i + 1];
        if (type === PUBREC) {
          if ((acks + 1) * 4 > ackScratch.length) ackScratch = growScratch(acks);
          writeAck(ackScratch, acks * 4, PUBREL, pid);
          acks++;
        }
        sink.onAck(this, type, pid);
      } else if (type === CONNACK) {
        const cb = this.onConnack;
        this.onConnack = undefined;
        cb?.(buf[i + 1]);
      } else if (type === SUBACK) {
        const codes: number[] = [];
        for (let k = i + 2; k < end; k++) codes.push(buf[k]);
        this.onSuback?.(codes);
      } else if (type !== PINGRESP) {
        sink.onLost(this, `unexpected packet type ${type}`);
      }
      pos = end;
    }
    if (pos < len) this.rest = Buffer.from(buf.subarray(pos, len));
    if (acks > 0 && !this.closing) {
      const out = Buffer.allocUnsafe(acks * 4);
      ackScratch.copy(out, 0, 0, acks * 4);
      this.sock.write(out);
    }
  }
}

function growScratch(used: number): Buffer {
  const next = Buffer.allocUnsafe(ackScratch.length * 2);
  ackScratch.copy(next, 0, 0, used * 4);
  return next;
}

/** Opens `n` clients with at most `concurrency` handshakes pending at a time. */
export async function openMany(
  n: number,
  concurrency: number,
  make: (i: number) => OpenOptions,
  sink: ClientSink,
  onOpen?: (c: RawClient, i: number) => void,
): Promise<RawClient[]> {
  const out: RawClient[] = new Array(n);
  let next = 0;
  let firstError: Error | undefined;
  async function worker(): Promise<void> {
    while (next < n && firstError === undefined) {
      const i = next++;
      try {
        const c = await RawClient.open(make(i), sink);
        c.index = i;
        out[i] = c;
        onOpen?.(c, i);
      } catch (err) {
        firstError ??= err as Error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  if (firstError !== undefined) {
    for (const c of out) c?.reset();
    throw firstError;
  }
  return out;
}
