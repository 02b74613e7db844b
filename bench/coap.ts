/**
 * The CoAP gateway under load, next to MQTT doing the same work in the same run:
 *   in:  1 000 peers publish QoS 0 (CoAP: NON POST /ps/bench/in/<i>, answered with a NON 2.04, or with
 *        No-Response and no answer; MQTT: 1 000 connections) into one MQTT subscriber of bench/in/+;
 *   out: one MQTT publisher fans out to 1 000 receivers (CoAP: NON Observe notifications; MQTT: 1 000
 *        QoS 0 subscribers) of bench/out.
 *
 *   npm run build && node dist/bench/coap.js [--seconds 5] [--peers 1000] [--phases coap-in,mqtt-in,...]
 *
 * This process runs only the broker (a HermodNode) and measures its CPU time while a child generates the
 * load over raw sockets (CoAP datagrams and MQTT frames built once, message ids patched). The load is
 * closed-loop: at most `window` messages not yet received; a stall (UDP loss) reopens the window.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { encodeMessage, Opt } from '../src/gateway/coap/message.js';
import { startBenchNode } from './bench-node.js';
import { childLines } from './children.js';
import { packetTypes } from './mqtt-frames.js';

const self = fileURLToPath(import.meta.url);
type Phase = 'coap-in' | 'coap-in-nr' | 'mqtt-in' | 'coap-out' | 'mqtt-out';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

// ---------------------------------------------------------------- load generator (child)

/** Counts MQTT packets of one type on a byte stream. */
function counter(type: number, on: () => void): (chunk: Buffer) => void {
  return packetTypes((t) => {
    if (t === type) on();
  });
}

function mqttConnect(port: number, clientId: string, onPublish?: () => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let ready = false;
    const count = counter(3, () => onPublish?.());
    s.on('data', (d) => {
      if (!ready) {
        ready = true;
        resolve(s);
        if (d.length > 4) count(d.subarray(4));
        return;
      }
      count(d);
    });
    s.once('error', reject);
    s.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId,
        clean: true,
        keepalive: 600,
      }),
    );
  });
}

const subscribe = (s: net.Socket, topic: string) =>
  s.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));

const mqttPublish = (topic: string, payload: Buffer) =>
  mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });

function udp(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

const path = (p: string) => p.split('/').map((seg) => ({ number: Opt.UriPath, value: Buffer.from(seg) }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function load(
  phase: Phase,
  mqttPort: number,
  coapPort: number,
  seconds: number,
  peers: number,
): Promise<void> {
  const payload = Buffer.alloc(64, 'x');
  let received = 0;
  let sent = 0;
  let onReceive = () => {};
  const got = () => {
    received++;
    onReceive();
  };
  const closers: Array<() => void> = [];
  let pump: () => void;
  let window: number;
  let perSend = 1;
  if (phase === 'coap-in' || phase === 'coap-in-nr' || phase === 'mqtt-in') {
    const sub = await mqttConnect(mqttPort, 'bench-sub', got);
    subscribe(sub, 'bench/in/+');
    closers.push(() => sub.destroy());
    const senders: Array<() => void> = [];
    for (let i = 0; i < peers; i++) {
      if (phase !== 'mqtt-in') {
        const s = await udp();
        const frame = encodeMessage({
          type: 'NON',
          code: '0.02',
          messageId: 0,
          token: Buffer.from([i & 0xff]),
          // coap-in-nr: RFC 7967 No-Response (no 2.xx wanted), so the gateway sends nothing back.
          options: [
            ...path(`ps/bench/in/${i}`),
            ...(phase === 'coap-in-nr' ? [{ number: Opt.NoResponse, value: Buffer.from([2]) }] : []),
          ],
          payload,
        });
        let id = 0;
        senders.push(() => {
          id = (id + 1) & 0xffff;
          frame.writeUInt16BE(id, 2);
          s.send(frame, coapPort, '127.0.0.1');
        });
        closers.push(() => s.close());
      } else {
        const s = await mqttConnect(mqttPort, `bench-pub-${i}`);
        const frame = mqttPublish(`bench/in/${i}`, payload);
        senders.push(() => s.write(frame));
        closers.push(() => s.destroy());
      }
    }
    let next = 0;
    window = 2 * peers;
    pump = () => {
      senders[next]!();
      next = (next + 1) % senders.length;
      sent++;
    };
  } else {
    const pub = await mqttConnect(mqttPort, 'bench-pub');
    closers.push(() => pub.destroy());
    let ready = 0;
    const retries: Array<() => void> = [];
    for (let i = 0; i < peers; i++) {
      if (phase === 'coap-out') {
        const s = await udp();
        let registered = false;
        s.on('message', () => {
          if (registered) got();
          else {
            registered = true;
            ready++;
          }
        });
        const token = Buffer.alloc(4);
        token.writeUInt32BE(i);
        const register = encodeMessage({
          type: 'NON',
          code: '0.01',
          messageId: 0,
          token,
          options: [{ number: Opt.Observe, value: Buffer.alloc(0) }, ...path('ps/bench/out')],
          payload: Buffer.alloc(0),
        });
        // Random message ids: an earlier phase's peer may have had this port (and used small ids) within
        // EXCHANGE_LIFETIME, and the gateway would rightly take a reused id for a duplicate.
        const send = () => {
          register.writeUInt16BE(Math.floor(Math.random() * 0x10000), 2);
          s.send(register, coapPort, '127.0.0.1');
        };
        send();
        // A registration lost on the way is sent again.
        retries.push(() => {
          if (!registered) send();
        });
        closers.push(() => s.close());
      } else {
        const s = await mqttConnect(mqttPort, `bench-sub-${i}`, got);
        subscribe(s, 'bench/out');
        ready++;
        closers.push(() => s.destroy());
      }
    }
    for (let t = 0; ready < peers; t++) {
      await sleep(50);
      if (t % 10 === 9) for (const r of retries) r();
    }
    const frame = mqttPublish('bench/out', payload);
    perSend = peers;
    window = 4 * peers;
    pump = () => {
      pub.write(frame);
      sent += peers;
    };
  }
  await sleep(300);
  let running = true;
  const fill = () => {
    while (running && sent - received + perSend <= window) pump();
  };
  onReceive = fill;
  // UDP may lose datagrams: when nothing arrived for 100 ms, what is missing is counted lost.
  let last = received;
  const stall = setInterval(() => {
    if (received === last) sent = received;
    last = received;
    fill();
  }, 100);
  fill();
  await sleep(1000);
  process.stdout.write('start\n');
  const r0 = received;
  const s0 = sent;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const r1 = received;
  const s1 = sent;
  running = false;
  clearInterval(stall);
  process.stdout.write(`${JSON.stringify({ delivered: (r1 - r0) / elapsed, lossy: s1 - s0 - (r1 - r0) })}\n`);
  await sleep(200);
  for (const c of closers) c();
  process.exit(0);
}

// ---------------------------------------------------------------- orchestration (main)

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '5'));
  const peers = Number(arg('peers', '1000'));
  const node = await startBenchNode({
    listeners: {
      tcp: { default: { bind: '127.0.0.1:0', max_connections: 100000 } },
      ws: { default: { enable: false } },
    },
    gateway: {
      coap: {
        heartbeat: '10m',
        listeners: {
          udp: { default: { bind: '127.0.0.1:0', max_connections: 100000, max_conn_rate: 100000 } },
        },
      },
    },
  });
  const mqttPort = node.port('tcp:default');
  const coapPort = node.gateways.get('coap')!.listeners.get('coap:udp:default')!.transport!.address()!.port;
  console.log(`${peers} peers, QoS 0, 64-byte payloads, ${seconds}s per phase`);
  const phases = arg('phases', 'coap-in,coap-in-nr,mqtt-in,coap-out,mqtt-out').split(',') as Phase[];
  for (const phase of phases) {
    const gen = spawn(
      process.execPath,
      [self, 'load', phase, String(mqttPort), String(coapPort), String(seconds), String(peers)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let cpu0 = process.cpuUsage();
    const result = await new Promise<{ delivered: number; lossy: number; cpuUs: number }>(
      (resolve, reject) => {
        void childLines(gen, (l) => {
          if (l === 'start') cpu0 = process.cpuUsage();
          else {
            const c = process.cpuUsage(cpu0);
            resolve({ ...(JSON.parse(l) as { delivered: number; lossy: number }), cpuUs: c.user + c.system });
          }
        });
        gen.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
      },
    );
    const perMsg = result.cpuUs / (result.delivered * seconds);
    console.log(
      `${phase.padEnd(9)} ${result.delivered.toFixed(0).padStart(8)} deliveries/s  broker CPU ${perMsg.toFixed(1).padStart(6)} µs/delivery  (lost or in flight at the end: ${result.lossy})`,
    );
    if (gen.exitCode === null) await new Promise((r) => gen.once('exit', r));
  }
  await node.stop();
}

if (process.argv[2] === 'load') {
  const [, , , phase, mqttPort, coapPort, seconds, peers] = process.argv;
  void load(phase as Phase, Number(mqttPort), Number(coapPort), Number(seconds), Number(peers));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
