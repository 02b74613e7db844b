/**
 * The first CONNACK of a starting broker: what "accepts connections" means to a client. Used by the
 * retained-restart curve and by bench/startup.ts.
 */
import net from 'node:net';
import { connectFrame, DISCONNECT, subscribeFrame } from './loadgen/frames.js';

export interface FirstConnack {
  /** ms from `since` until the first CONNACK. */
  connack: number;
  /** ms from `since` until `retained` PUBLISHes arrived on `ret/#` (subscribed right after the CONNACK). */
  all: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Client ids of the probes (two probes at once must not take each other's session over). */
let probes = 0;

/**
 * Connects to 127.0.0.1:port every 2 ms until a CONNACK accepts the connection (MQTT 3.1.1, clean session); then, when
 * `retained` > 0, subscribes `ret/#` at QoS 0 and counts PUBLISH packets until that many arrived.
 */
export async function firstConnack(
  port: number,
  since: number,
  deadlineMs: number,
  retained = 0,
): Promise<FirstConnack> {
  for (;;) {
    if (performance.now() - since > deadlineMs)
      throw new Error(`no CONNACK on ${port} within ${deadlineMs} ms`);
    const r = await attempt(port, since, retained);
    if (r !== undefined) return r;
    await sleep(2);
  }
}

function attempt(port: number, since: number, n: number): Promise<FirstConnack | undefined> {
  return new Promise((done) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let connack = 0;
    let got = 0;
    let buf: Buffer = Buffer.alloc(0);
    const finish = (r: FirstConnack) => {
      s.removeAllListeners('close');
      s.write(DISCONNECT);
      s.destroy();
      done(r);
    };
    s.on('error', () => undefined);
    s.on('close', () => done(undefined));
    const clientId = `first-connack-${process.pid}-${++probes}`;
    s.on('connect', () => s.write(connectFrame(clientId, 60)));
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let pos = 0;
      for (;;) {
        // Fixed header: type byte, then the remaining length (1-4 bytes, 7 bits each).
        if (buf.length - pos < 2) break;
        let len = 0;
        let mul = 1;
        let i = pos + 1;
        for (; i < buf.length; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || i + 1 + len > buf.length) break;
        const type = buf[pos]! >> 4;
        const returnCode = buf[i + 2];
        pos = i + 1 + len;
        if (type === 2 && returnCode !== 0) {
          // Refused (not ready, or not allowed): not a successful CONNACK; the caller tries again.
          s.destroy();
          return;
        }
        if (type === 2) {
          connack = performance.now() - since;
          if (n === 0) return finish({ connack, all: connack });
          s.write(subscribeFrame(1, ['ret/#'], 0));
        } else if (type === 3 && ++got === n) {
          return finish({ connack, all: performance.now() - since });
        }
      }
      buf = buf.subarray(pos);
    });
  });
}
