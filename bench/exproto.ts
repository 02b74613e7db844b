/**
 * The ExProto gateway under an echo load: TCP clients send lines, a no-op echo handler (@grpc/grpc-js, as a
 * user would write it) answers each OnReceivedBytes with a Send of the same bytes, and the client counts the
 * echoes. Two phases per gRPC client of the gateway (`handler.grpc_client`):
 *   paced:    1 000 clients, one line per client per second;
 *   saturate: the same clients, each sending its next line as soon as its echo is back.
 * Each runs for every adapter server of the gateway too (`server.grpc_server`, the server the handler's
 * Send calls reach).
 * Reported: echoes per second and broker CPU µs per echoed line (one handler call and one adapter rpc).
 *
 *   npm run build && node dist/bench/exproto.js [--seconds 5] [--clients 1000] [--repeat 3]
 *     [--clients-kind http2,grpc-js] [--server-kind http2,grpc-js] [--phases paced,saturate]
 *
 * This process runs only the broker (pinned to CPU 0); the handler and the load generator run as children
 * pinned to CPU 1.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, credentials, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ExhookServerConfig } from '../src/config/schema/exhook.js';
import { exprotoProtoPath } from '../src/gateway/exproto/proto.js';
import type { HermodNode } from '../src/node.js';
import { startBenchNode } from './bench-node.js';
import { BROKER_CPU, LOADGEN_CPU as OTHER_CPU } from './brokers.js';
import { childLines, freePort } from './children.js';

const self = fileURLToPath(import.meta.url);
type Phase = 'paced' | 'saturate';
type ClientKind = ExhookServerConfig['grpc_client'];
type ServerKind = 'http2' | 'grpc-js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

// ---------------------------------------------------------------- echo handler (child)

async function handler(adapterPort: number): Promise<void> {
  const def = loadSync(exprotoProtoPath(), { keepCase: true, enums: String, longs: Number, defaults: true });
  const service = (name: string) => def[`emqx.exproto.v1.${name}`] as unknown as ServiceDefinition;
  const send = service('ConnectionAdapter').Send!;
  const adapter = new Client(`127.0.0.1:${adapterPort}`, credentials.createInsecure());
  const empty = (_call: unknown, cb: (e: null, r: object) => void) => cb(null, {});
  const server = new Server();
  server.addService(service('ConnectionUnaryHandler'), {
    OnSocketCreated: empty,
    OnSocketClosed: empty,
    OnTimerTimeout: empty,
    OnReceivedMessages: empty,
    OnReceivedBytes: (
      call: { request: { conn: string; bytes: Buffer } },
      cb: (e: null, r: object) => void,
    ) => {
      cb(null, {});
      adapter.makeUnaryRequest(
        send.path,
        send.requestSerialize,
        send.responseDeserialize,
        { conn: call.request.conn, bytes: call.request.bytes },
        () => {},
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  process.stdout.write(`${port}\n`);
}

// ---------------------------------------------------------------- load generator (child)

async function load(phase: Phase, port: number, seconds: number, clients: number): Promise<void> {
  const line = Buffer.from(`${'x'.repeat(31)}\n`);
  let echoed = 0;
  let running = true;
  const socks: net.Socket[] = [];
  for (let i = 0; i < clients; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      let n = 0;
      for (let k = d.indexOf(10); k >= 0; k = d.indexOf(10, k + 1)) n++;
      echoed += n;
      if (phase === 'saturate' && running) for (let k = 0; k < n; k++) s.write(line);
    });
    socks.push(s);
  }
  // Give the gateway time to tell the handler about every socket before the lines start.
  await new Promise((r) => setTimeout(r, 500));
  let pacer: NodeJS.Timeout | undefined;
  if (phase === 'saturate') for (const s of socks) s.write(line);
  else {
    // One line per client per second, spread over the second in 10 ms slices.
    let next = 0;
    const perTick = clients / 100;
    let owed = 0;
    pacer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        socks[next]!.write(line);
        next = (next + 1) % clients;
      }
    }, 10);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const atStart = echoed;
  process.stdout.write('start\n');
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  process.stdout.write('stop\n');
  running = false;
  if (pacer !== undefined) clearInterval(pacer);
  const rate = (echoed - atStart) / elapsed;
  for (const s of socks) s.destroy();
  process.stdout.write(`${JSON.stringify({ rate })}\n`);
}

// ---------------------------------------------------------------- orchestration (main)

function pinned(args: string[]): ChildProcess {
  return spawn('taskset', ['-c', OTHER_CPU, process.execPath, self, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function startNode(
  adapterPort: number,
  handlerPort: number,
  kind: ClientKind,
  server: ServerKind,
): Promise<HermodNode> {
  const node = await startBenchNode({
    gateway: {
      exproto: {
        server: { bind: `127.0.0.1:${adapterPort}`, grpc_server: server },
        handler: { address: `http://127.0.0.1:${handlerPort}`, grpc_client: kind },
        listeners: { tcp: { default: { bind: '127.0.0.1:0', max_conn_rate: 100000 } } },
      },
    },
  });
  return node;
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '5'));
  const clients = Number(arg('clients', '1000'));
  const repeat = Number(arg('repeat', '3'));
  const kinds = arg('clients-kind', 'http2,grpc-js').split(',') as ClientKind[];
  const servers = arg('server-kind', 'http2,grpc-js').split(',') as ServerKind[];
  const combos = kinds.flatMap((kind) => servers.map((server) => ({ kind, server })));
  spawnSync('taskset', ['-a', '-p', '-c', BROKER_CPU, String(process.pid)], { stdio: 'ignore' });
  const adapterPort = await freePort();
  const h = pinned(['handler', String(adapterPort)]);
  const handlerPort = await new Promise<number>((resolve) => void childLines(h, (l) => resolve(Number(l))));
  console.log(
    `${clients} TCP clients, 32-byte lines echoed by a grpc-js handler (OnReceivedBytes → Send), ${seconds}s per phase, ` +
      `broker on CPU ${BROKER_CPU}, handler and load on CPU ${OTHER_CPU}; each phase ${repeat}x, median`,
  );
  const results = new Map<string, Array<{ rate: number; cpu: number }>>();
  for (let round = 0; round < repeat; round++) {
    for (const { kind, server } of combos) {
      const node = await startNode(adapterPort, handlerPort, kind, server);
      const port = node.gateways
        .get('exproto')!
        .listeners.get('exproto:tcp:default')!
        .transport!.address()!.port;
      for (const phase of arg('phases', 'paced,saturate').split(',') as Phase[]) {
        const gen = pinned(['load', phase, String(port), String(seconds), String(clients)]);
        let cpu0 = process.cpuUsage();
        let cpu = 0;
        let rate = 0;
        await childLines(gen, (l) => {
          if (l === 'start') cpu0 = process.cpuUsage();
          else if (l === 'stop') {
            const c = process.cpuUsage(cpu0);
            cpu = c.user + c.system;
          } else rate = (JSON.parse(l) as { rate: number }).rate;
        });
        const perMsg = rate > 0 ? cpu / (rate * seconds) : 0;
        const key = `client ${kind} server ${server} ${phase}`;
        results.set(key, [...(results.get(key) ?? []), { rate, cpu: perMsg }]);
        console.log(
          `${key.padEnd(36)} ${rate.toFixed(0).padStart(7)} echoes/s, broker ${perMsg.toFixed(1)} µs CPU/echo`,
        );
        // Let the gateway see the closed sockets before the next phase.
        await new Promise((r) => setTimeout(r, 1000));
      }
      await node.stop();
    }
  }
  console.log('median:');
  for (const [key, rs] of results) {
    console.log(
      `  ${key.padEnd(36)} ${median(rs.map((r) => r.rate))
        .toFixed(0)
        .padStart(7)} echoes/s, ${median(rs.map((r) => r.cpu)).toFixed(1)} µs CPU/echo`,
    );
  }
  h.kill();
}

const mode = process.argv[2];
if (mode === 'handler') void handler(Number(process.argv[3]));
else if (mode === 'load') {
  const [, , , phase, port, seconds, clients] = process.argv;
  void load(phase as Phase, Number(port), Number(seconds), Number(clients));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
