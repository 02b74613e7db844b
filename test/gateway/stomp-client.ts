/**
 * A bare STOMP client over TCP for tests that need exact bytes: its own small frame reader (independent
 * of the gateway's codec), heart-beat counting, and waits for frames or the close.
 */
import { connect as netConnect, type Socket } from 'node:net';

export interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

export class StompRaw {
  readonly frames: Frame[] = [];
  /** Heart-beat EOLs received between frames. */
  heartbeats = 0;
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: Array<{ cmd: string | undefined; resolve: (f: Frame) => void }> = [];
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static open(port: number): Promise<StompRaw> {
    return new Promise((resolve, reject) => {
      const s = netConnect(port, '127.0.0.1', () => resolve(new StompRaw(s)));
      s.once('error', reject);
    });
  }

  /** Opens and logs in; resolves with the CONNECTED frame. */
  static async login(
    port: number,
    headers: Record<string, string> = {},
  ): Promise<{ c: StompRaw; connected: Frame }> {
    const c = await StompRaw.open(port);
    c.send('CONNECT', { 'accept-version': '1.2', host: 'hermod', ...headers });
    const connected = await c.next();
    if (connected.command !== 'CONNECTED')
      throw new Error(`login failed: ${connected.command} ${connected.body}`);
    return { c, connected };
  }

  /** Sends one frame (headers written as given, no escaping, content-length added for a body). */
  send(command: string, headers: Record<string, string> = {}, body = ''): void {
    this.socket.write(encode(command, headers, body));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next frame (of a command, if given), already received or still to come. */
  next(cmd?: string, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex((f) => cmd === undefined || f.command === cmd);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out waiting for ${cmd ?? 'a frame'}; have ${this.frames.map((f) => f.command).join(',') || 'nothing'}`,
          ),
        );
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(t);
        resolve(f);
      };
      this.waiters.push({ cmd, resolve: done });
    });
  }

  /** Resolves when the server closes (rejects after the timeout). */
  waitClosed(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.closedPromise,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Resolves true if nothing of `cmd` arrives within `ms`. */
  async quiet(ms: number, cmd = 'MESSAGE'): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return !this.frames.some((f) => f.command === cmd);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      while (this.buf.length > 0 && (this.buf[0] === 0x0a || this.buf[0] === 0x0d)) {
        if (this.buf[0] === 0x0a) this.heartbeats++;
        this.buf = this.buf.subarray(1);
      }
      const f = this.take();
      if (f === undefined) return;
      const i = this.waiters.findIndex((w) => w.cmd === undefined || w.cmd === f.command);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(f);
      else this.frames.push(f);
    }
  }

  private take(): Frame | undefined {
    const end = this.buf.indexOf('\n\n');
    if (end < 0) return undefined;
    const lines = this.buf.toString('utf8', 0, end).split('\n');
    const command = lines.shift()!;
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      const k = unescapeHeader(l.slice(0, i));
      if (!(k in headers)) headers[k] = unescapeHeader(l.slice(i + 1));
    }
    const start = end + 2;
    let stop: number;
    if (headers['content-length'] !== undefined) {
      stop = start + Number(headers['content-length']);
      if (this.buf.length <= stop) return undefined;
    } else {
      stop = this.buf.indexOf(0, start);
      if (stop < 0) return undefined;
    }
    const body = this.buf.toString('utf8', start, stop);
    this.buf = this.buf.subarray(stop + 1);
    return { command, headers, body };
  }
}

function unescapeHeader(s: string): string {
  return s.replace(/\\([rnc\\])/g, (_m, c: string) =>
    c === 'r' ? '\r' : c === 'n' ? '\n' : c === 'c' ? ':' : '\\',
  );
}

/** One frame's bytes. */
export function encode(command: string, headers: Record<string, string> = {}, body = ''): Buffer {
  let s = `${command}\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}:${v}\n`;
  const b = Buffer.from(body);
  if (b.length > 0 && headers['content-length'] === undefined) s += `content-length:${b.length}\n`;
  return Buffer.concat([Buffer.from(`${s}\n`), b, Buffer.from([0])]);
}
