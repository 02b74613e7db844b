/**
 * The LwM2M gateway under load: `peers` registered devices, and one MQTT application that keeps one read
 * command in flight per device (`lwm2m/<ep>/dn/dm` ⇒ CoAP GET /3/0/9 ⇒ TLV 2.05 ⇒ JSON on
 * `lwm2m/<ep>/up/resp`). Each round trip is one command through the gateway: JSON parsed, CoAP request
 * built, tracked and matched, TLV decoded with the object definitions, sorted JSON published.
 *
 *   npm run build && node dist/bench/lwm2m.js [--seconds 5] [--peers 200]
 *
 * This process runs only the broker and measures its CPU time; a child runs the devices (raw datagrams
 * built once, ids patched) and the application (mqtt.js).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import {
  type CoapMessage,
  decodeMessage,
  encodeMessage,
  isDecodeError,
  Opt,
} from '../src/gateway/coap/message.js';
import { startBenchNode } from './bench-node.js';

const self = fileURLToPath(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/** A device: registers, then answers every request with battery level 87 in TLV. */
async function device(port: number, ep: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const answer = encodeMessage({
    type: 'ACK',
    code: '2.05',
    messageId: 0,
    token: Buffer.alloc(4),
    options: [{ number: Opt.ContentFormat, value: Buffer.from([0x2d, 0x16]) }],
    payload: Buffer.from([0xc1, 0x09, 87]),
  });
  const registered = new Promise<void>((resolve) => {
    s.on('message', (b) => {
      const m = decodeMessage(b);
      if (isDecodeError(m)) return;
      if (m.type === 'ACK') return resolve();
      // Patch the request's message id and token into the prepared answer.
      answer.writeUInt16BE(m.messageId, 2);
      m.token.copy(answer, 4);
      s.send(answer, port, '127.0.0.1');
    });
  });
  const reg: CoapMessage = {
    type: 'CON',
    code: '0.02',
    messageId: 1,
    token: Buffer.from([1]),
    options: [
      { number: Opt.UriPath, value: Buffer.from('rd') },
      ...[`ep=${ep}`, 'lt=3600', 'lwm2m=1.0'].map((q) => ({ number: Opt.UriQuery, value: Buffer.from(q) })),
    ],
    payload: Buffer.from('</1/0>,</3/0>'),
  };
  s.send(encodeMessage(reg), port, '127.0.0.1');
  await registered;
  return s;
}

async function load(mqttPort: number, lwm2mPort: number, seconds: number, peers: number): Promise<void> {
  const socks: dgram.Socket[] = [];
  for (let i = 0; i < peers; i++) socks.push(await device(lwm2mPort, `bench-${i}`));
  const app = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'bench-app' });
  await app.subscribeAsync('lwm2m/+/up/resp', { qos: 0 });
  await sleep(500);
  let answered = 0;
  let running = true;
  const command = (i: number) =>
    app.publish(`lwm2m/bench-${i}/dn/dm`, `{"reqID":${i},"msgType":"read","data":{"path":"/3/0/9"}}`);
  app.on('message', (topic) => {
    answered++;
    // The device answered: send it the next command.
    if (running) command(Number(topic.split('/')[1]!.slice(6)));
  });
  for (let i = 0; i < peers; i++) command(i);
  await sleep(1000);
  process.stdout.write('start\n');
  const a0 = answered;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const rate = (answered - a0) / ((performance.now() - t0) / 1000);
  running = false;
  process.stdout.write(`${JSON.stringify({ rate })}\n`);
  await app.endAsync();
  for (const s of socks) s.close();
  process.exit(0);
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '5'));
  const peers = Number(arg('peers', '200'));
  const node = await startBenchNode({
    gateway: {
      lwm2m: {
        listeners: {
          udp: { default: { bind: '127.0.0.1:0', max_connections: 100000, max_conn_rate: 100000 } },
        },
      },
    },
  });
  const mqttPort = node.port('tcp:default');
  const lwm2mPort = node.gateways
    .get('lwm2m')!
    .listeners.get('lwm2m:udp:default')!
    .transport!.address()!.port;
  const gen = spawn(
    process.execPath,
    [self, 'load', String(mqttPort), String(lwm2mPort), String(seconds), String(peers)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let cpu0 = process.cpuUsage();
  let out = '';
  const rate = await new Promise<{ rate: number; cpuUs: number }>((resolve, reject) => {
    gen.stdout!.on('data', (d) => {
      out += d;
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line === 'start') cpu0 = process.cpuUsage();
        else {
          const c = process.cpuUsage(cpu0);
          resolve({ ...(JSON.parse(line) as { rate: number }), cpuUs: c.user + c.system });
        }
      }
    });
    gen.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
  });
  const perCmd = rate.cpuUs / (rate.rate * seconds);
  console.log(
    `${peers} devices, one read in flight each: ${rate.rate.toFixed(0)} commands/s, broker CPU ${perCmd.toFixed(1)} µs/command`,
  );
  if (gen.exitCode === null) await new Promise((r) => gen.once('exit', r));
  await node.stop();
}

if (process.argv[2] === 'load') {
  const [, , , mqttPort, lwm2mPort, seconds, peers] = process.argv;
  void load(Number(mqttPort), Number(lwm2mPort), Number(seconds), Number(peers));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
