/** CoAP test helpers: a broker with the CoAP gateway on a free UDP port, and a raw CoAP peer. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import {
  type CoapMessage,
  decodeMessage,
  encodeMessage,
  isDecodeError,
  Opt,
  uintValue,
} from '../../src/gateway/coap/message.js';
import { merge, type RawConfig, startBroker, type TestBroker } from '../helpers/broker.js';
import { gatewayPort } from './helpers.js';

/** Starts a broker with `gateway.coap` on a loopback udp port. */
export async function startCoapBroker(
  opts: { coap?: RawConfig; config?: RawConfig; api?: boolean } = {},
): Promise<TestBroker & { coapPort: number }> {
  const coap = merge({ listeners: { udp: { default: { bind: '127.0.0.1:0' } } } }, opts.coap ?? {});
  const b = await startBroker({ api: opts.api, config: merge({ gateway: { coap } }, opts.config ?? {}) });
  return Object.assign(b, { coapPort: gatewayPort(b.node, 'coap:udp:default') });
}

/** A request as tests write it: path and query strings become Uri-Path / Uri-Query options. */
export interface Req {
  type?: 'CON' | 'NON';
  code: string;
  path: string;
  query?: string[];
  token?: Buffer;
  observe?: number;
  payload?: Buffer | string;
  messageId?: number;
  options?: { number: number; value: Buffer }[];
}

let nextId = 1;

/** Builds a request message. */
export function request(r: Req): CoapMessage {
  const options = [
    ...(r.observe === undefined ? [] : [{ number: Opt.Observe, value: uintValue(r.observe) }]),
    ...r.path
      .split('/')
      .slice(1)
      .map((s) => ({ number: Opt.UriPath, value: Buffer.from(s) })),
    ...(r.query ?? []).map((q) => ({ number: Opt.UriQuery, value: Buffer.from(q) })),
    ...(r.options ?? []),
  ];
  return {
    type: r.type ?? 'CON',
    code: r.code,
    messageId: r.messageId ?? nextId++ & 0xffff,
    token: r.token ?? Buffer.from([1, 2, 3, 4]),
    options,
    payload: typeof r.payload === 'string' ? Buffer.from(r.payload) : (r.payload ?? Buffer.alloc(0)),
  };
}

/** A raw CoAP peer on its own UDP socket. */
export class RawCoap {
  readonly received: CoapMessage[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    private readonly sock: dgram.Socket,
    private readonly port: number,
  ) {
    sock.on('message', (buf) => {
      const m = decodeMessage(buf);
      if (!isDecodeError(m)) this.received.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number): Promise<RawCoap> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new RawCoap(sock, port);
  }

  sendRaw(buf: Buffer): void {
    this.sock.send(buf, this.port, '127.0.0.1');
  }

  send(m: CoapMessage): CoapMessage {
    this.sendRaw(encodeMessage(m));
    return m;
  }

  /** Waits for the first received message (from index `from`) matching `pred`. */
  async next(
    pred: (m: CoapMessage) => boolean = () => true,
    timeoutMs = 4000,
    from = 0,
  ): Promise<CoapMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit !== undefined) return hit;
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching CoAP message; got ${this.received.map((m) => `${m.type} ${m.code}`).join(', ')}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a request and waits for the response with its message id (ACK) or token (NON). */
  async ask(r: Req): Promise<CoapMessage> {
    const from = this.received.length;
    const m = this.send(request(r));
    return this.next(
      (x) => (m.type === 'CON' ? x.type === 'ACK' && x.messageId === m.messageId : x.token.equals(m.token)),
      4000,
      from,
    );
  }

  close(): void {
    this.sock.close();
  }
}

/** Starts coap-client in the background; `done` resolves with all it printed once it exits. */
export function coapClientInBackground(args: string[]): {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
} {
  const p = spawn('coap-client-notls', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    p.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, kill: () => p.kill() };
}
