/**
 * The first CONNACK of a starting broker: what "accepts connections" means to a client. Used by the
 * retained-restart curve and by bench/startup.ts.
 */
import net from 'node:net';
import { connectFrame, DISCONNECT, subscribeFrame } from './loadgen/frames.js';
import { mqttPackets } from './mqtt-frames.js';

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
    const feed = mqttPackets((type, body) => {
      if (s.destroyed) return;
      if (type === 2 && body[1] !== 0) {
        // Refused (not ready, or not allowed): not a successful CONNACK; the caller tries again.
        s.destroy();
      } else if (type === 2) {
        connack = performance.now() - since;
        if (n === 0) finish({ connack, all: connack });
        else s.write(subscribeFrame(1, ['ret/#'], 0));
      } else if (type === 3 && ++got === n) {
        finish({ connack, all: performance.now() - since });
      }
    });
    s.on('data', feed);
  });
}
