/**
 * The cost of ExHook on the publish path: QoS 1 publish throughput with one message.publish ExHook server
 * registered against none, in one run, on one broker (phases alternate: none, exhook, none, exhook).
 *
 *   npm run build && node dist/bench/exhook.js [--seconds 5] [--publishers 8] [--window 32] [--answer ignore|continue]
 *     [--server h2|grpc-js|lean] [--repeat 3] [--phases none,grpc-js,http2] [--calls 5000] [--profile <file.cpuprofile>]
 *
 * Each phase also reports the CPU the ExHook server child and the load generator child used per acked
 * publish: they share one core, so when their sum nears 1 s per second the other core, not the broker, sets
 * the rate. `--profile` records a V8 CPU profile of the broker (this process) during the hooked phases'
 * measured windows and prints its summary (bench/profile.ts).
 *
 * Three processes: this one runs the broker (a HermodNode on 127.0.0.1), a child runs the ExHook server
 * (bare node:http2 by default, @grpc/grpc-js with `--server grpc-js`, Hermod's own gRPC server with
 * `--server lean`; answering OnMessagePublish with
 * IGNORE, or CONTINUE with the message as it came), another
 * child generates the load over raw sockets (MQTT 3.1.1 frames built once, packet ids patched). Throughput
 * is PUBACKs per second: a PUBACK leaves only after the message.publish fold, so it includes the gRPC
 * round trip. Every message is also delivered to one QoS 0 subscriber on bench/#.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { Session } from 'node:inspector/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import mqttPacket from 'mqtt-packet';
import type { ExhookServerConfig } from '../src/config/schema/exhook.js';
import { connectProvider } from '../src/exhook/connection.js';
import { LOADER_OPTIONS, protoPath } from '../src/exhook/proto.js';
import { GrpcUnaryServer } from '../src/transport/grpc-server.js';
import { startBenchNode } from './bench-node.js';
import { BROKER_CPU, LOADGEN_CPU as OTHER_CPU } from './brokers.js';
import { childLines } from './children.js';
import { packetTypes } from './mqtt-frames.js';
import { cpuSeconds } from './proc.js';
import { renderProfile } from './profile.js';

const self = fileURLToPath(import.meta.url);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

// ---------------------------------------------------------------- ExHook server (child)

type ServiceDefs = Record<string, MethodDefinition<object, object>>;

/**
 * The default ExHook server: node:http2 with the gRPC framing done by hand and the answers encoded once, so
 * that the server (sharing its core with the load generator) costs less per call than the broker: with a
 * grpc-js server the server, not the broker, set the rate once the broker's client got cheap.
 */
async function bareProvider(answer: string): Promise<void> {
  const def = loadSync(protoPath(), LOADER_OPTIONS);
  const methods = def['emqx.exhook.v3.HookProvider'] as unknown as ServiceDefs;
  const framed = (m: Buffer) => {
    const out = Buffer.alloc(5 + m.length);
    out.writeUInt32BE(m.length, 1);
    m.copy(out, 5);
    return out;
  };
  const loaded = framed(
    methods.OnProviderLoaded!.responseSerialize({ hooks: [{ name: 'message.publish' }] }),
  );
  const unloaded = framed(methods.OnProviderUnloaded!.responseSerialize({}));
  const ignore = framed(methods.OnMessagePublish!.responseSerialize({ type: 'IGNORE' }));
  const publish = methods.OnMessagePublish!;
  const server = http2.createServer({ settings: { initialWindowSize: 4 * 1024 * 1024 } });
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', () => {
      let body: Buffer | undefined;
      if (path === publish.path)
        body =
          answer === 'continue'
            ? framed(
                publish.responseSerialize({
                  type: 'CONTINUE',
                  message: (
                    publish.requestDeserialize(Buffer.concat(chunks).subarray(5)) as { message: unknown }
                  ).message,
                }),
              )
            : ignore;
      else if (path === methods.OnProviderLoaded!.path) body = loaded;
      else if (path === methods.OnProviderUnloaded!.path) body = unloaded;
      if (body === undefined) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
}

/**
 * `--server lean`: the same answers served by Hermod's own gRPC unary server (src/transport/grpc-server.ts,
 * the ExProto adapter's), the cheapest real gRPC server at hand, for when node:http2's ~30 µs per call on
 * the shared core sets the rate instead of the broker.
 */
async function leanProvider(answer: string): Promise<void> {
  const def = loadSync(protoPath(), LOADER_OPTIONS);
  const methods = def['emqx.exhook.v3.HookProvider'] as unknown as ServiceDefs;
  const server = new GrpcUnaryServer();
  const asIs = (b: Buffer) => b;
  const once = (m: MethodDefinition<object, object>, response: object) => {
    const bytes = m.responseSerialize(response);
    server.add(m.path, { deserialize: asIs, serialize: asIs, handle: () => Promise.resolve(bytes) });
  };
  once(methods.OnProviderLoaded!, { hooks: [{ name: 'message.publish' }] });
  once(methods.OnProviderUnloaded!, {});
  const publish = methods.OnMessagePublish!;
  if (answer === 'continue')
    server.add(publish.path, {
      deserialize: (b: Buffer) => publish.requestDeserialize(b) as { message: unknown },
      serialize: asIs,
      handle: (r: { message: unknown }) =>
        Promise.resolve(publish.responseSerialize({ type: 'CONTINUE', message: r.message })),
    });
  else once(publish, { type: 'IGNORE' });
  process.stdout.write(`${await server.listen('127.0.0.1', 0)}\n`);
}

async function provider(answer: string): Promise<void> {
  const def = loadSync(protoPath(), LOADER_OPTIONS);
  const pkg = loadPackageDefinition(def) as unknown as {
    emqx: { exhook: { v3: { HookProvider: { service: ServiceDefinition } } } };
  };
  const server = new Server();
  server.addService(pkg.emqx.exhook.v3.HookProvider.service, {
    OnProviderLoaded: (_call: unknown, cb: (e: null, r: unknown) => void) =>
      cb(null, { hooks: [{ name: 'message.publish' }] }),
    OnProviderUnloaded: (_call: unknown, cb: (e: null, r: unknown) => void) => cb(null, {}),
    OnMessagePublish: (call: { request: { message: unknown } }, cb: (e: null, r: unknown) => void) =>
      cb(
        null,
        answer === 'continue' ? { type: 'CONTINUE', message: call.request.message } : { type: 'IGNORE' },
      ),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  process.stdout.write(`${port}\n`);
}

// ---------------------------------------------------------------- load generator (child)

function open(port: number, clientId: string, onType: (t: number) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let connacked = false;
    s.on(
      'data',
      packetTypes((t) => {
        if (t === 2 && !connacked) {
          connacked = true;
          resolve(s);
          return;
        }
        onType(t);
      }),
    );
    s.once('error', reject);
    s.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId,
        clean: true,
        keepalive: 60,
      }),
    );
  });
}

async function load(port: number, seconds: number, publishers: number, window: number): Promise<void> {
  let received = 0;
  const sub = await open(port, 'bench-sub', (t) => {
    if (t === 3) received++;
  });
  sub.write(
    mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/#', qos: 0 }] }),
  );
  await new Promise((r) => setTimeout(r, 200));
  let acked = 0;
  let counting = false;
  let running = true;
  const payload = Buffer.alloc(64, 'x');
  const pubs: net.Socket[] = [];
  for (let i = 0; i < publishers; i++) {
    const frame = mqttPacket.generate({
      cmd: 'publish',
      topic: `bench/${i}`,
      payload,
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    const idAt = frame.length - payload.length - 2;
    let nextId = 1;
    let sock: net.Socket | undefined;
    const send = () => {
      frame.writeUInt16BE(nextId, idAt);
      nextId = nextId === 65535 ? 1 : nextId + 1;
      sock!.write(Buffer.from(frame));
    };
    sock = await open(port, `bench-pub-${i}`, (t) => {
      if (t !== 4) return;
      if (counting) acked++;
      if (running) send();
    });
    pubs.push(sock);
    for (let w = 0; w < window; w++) send();
  }
  // One second of warm-up, then count.
  await new Promise((r) => setTimeout(r, 1000));
  const receivedAtStart = received;
  counting = true;
  process.stdout.write('start\n');
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  counting = false;
  running = false;
  process.stdout.write('stop\n');
  const deliveredRate = (received - receivedAtStart) / elapsed;
  await new Promise((r) => setTimeout(r, 300));
  for (const s of [...pubs, sub]) s.destroy();
  process.stdout.write(`${JSON.stringify({ rate: acked / elapsed, deliveredRate })}\n`);
}

// ---------------------------------------------------------------- orchestration (main)

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    void childLines(child, resolve).then(() => reject(new Error('child exited before answering')));
  });
}

/** A child process pinned to the core the broker does not use. */
function pinned(args: string[]): ChildProcess {
  return spawn('taskset', ['-c', OTHER_CPU, process.execPath, self, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** What a phase measures: no ExHook server, or one called through the named gRPC client. */
type Phase = 'none' | GrpcClientKind;

interface PhaseResult {
  rate: number;
  deliveredRate: number;
  /** Broker CPU (user + system) per acked publish, µs. */
  cpuPerMsg: number;
  /** ExHook server child's CPU per acked publish, µs. */
  serverPerMsg: number;
  /** Load generator child's CPU per acked publish, µs. */
  loadPerMsg: number;
}

const HELP = `node dist/bench/exhook.js [options]
  --seconds N       measured seconds per phase (5)
  --publishers N    publishing connections (8)
  --window N        unacknowledged QoS 1 publishes per publisher (32)
  --answer A        ignore | continue: what the ExHook server answers (ignore)
  --server S        h2 | grpc-js | lean: the ExHook server (h2: node:http2; lean: Hermod's own gRPC server)
  --phases P        comma list of none, http2, grpc-js (none,grpc-js,http2)
  --repeat N        rounds over the phases; medians are reported (3)
  --calls N         calls of the client-alone measurement, 0 skips it (5000)
  --profile FILE    V8 CPU profile of the broker during the hooked phases, summary printed`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(HELP);
    return;
  }
  const profileFile = process.argv.includes('--profile') ? arg('profile', 'exhook.cpuprofile') : undefined;
  const profiler = profileFile === undefined ? undefined : new Session();
  profiler?.connect();
  await profiler?.post('Profiler.enable');
  let profiling = false;
  const seconds = Number(arg('seconds', '5'));
  const publishers = Number(arg('publishers', '8'));
  const window = Number(arg('window', '32'));
  const answer = arg('answer', 'ignore');
  const repeat = Number(arg('repeat', '3'));
  const phases = arg('phases', 'none,grpc-js,http2').split(',') as Phase[];
  // The broker (this process) on one core; the ExHook server and the load generator on the other.
  spawnSync('taskset', ['-a', '-p', '-c', BROKER_CPU, String(process.pid)], { stdio: 'ignore' });
  const serverKind = arg('server', 'h2');
  const prov = pinned([
    serverKind === 'grpc-js' ? 'provider' : serverKind === 'lean' ? 'lean-provider' : 'bare-provider',
    answer,
  ]);
  const providerPort = Number(await firstLine(prov));
  const node = await startBenchNode();
  const port = node.port('tcp:default');
  const results = new Map<Phase, PhaseResult[]>(phases.map((p) => [p, []]));
  console.log(
    `publishers=${publishers} window=${window} QoS 1, 64-byte payloads, ${seconds}s per phase, answer=${answer}, ` +
      `ExHook server ${serverKind === 'grpc-js' ? '@grpc/grpc-js' : serverKind === 'lean' ? "Hermod's GrpcUnaryServer with pre-encoded answers" : 'node:http2 with pre-encoded answers'}, ` +
      `broker on CPU ${BROKER_CPU}, ExHook server and load on CPU ${OTHER_CPU}; each phase ${repeat}x, median`,
  );
  let serial = 0;
  for (let round = 0; round < repeat; round++) {
    for (const phase of phases) {
      // A new server name per phase: the connection is made afresh with the phase's client.
      const name = `bench${++serial}`;
      const servers =
        phase === 'none'
          ? []
          : [{ name, url: `http://127.0.0.1:${providerPort}`, pool_size: 8, grpc_client: phase }];
      await node.configService.update('exhook', { servers });
      if (phase !== 'none' && node.exhook.server(name)?.status !== 'connected') {
        throw new Error('the ExHook server did not load');
      }
      const gen = pinned(['load', String(port), String(seconds), String(publishers), String(window)]);
      let cpu0 = process.cpuUsage();
      let cpu = 0;
      let other0 = [0, 0];
      let other = [0, 0];
      const others = () => [cpuSeconds(prov.pid!), cpuSeconds(gen.pid!)];
      let r: { rate: number; deliveredRate: number } | undefined;
      await childLines(gen, (l) => {
        if (l === 'start') {
          cpu0 = process.cpuUsage();
          other0 = others();
          if (profiler !== undefined && phase !== 'none' && !profiling) {
            profiling = true;
            void profiler.post('Profiler.start');
          }
        } else if (l === 'stop') {
          const c = process.cpuUsage(cpu0);
          cpu = c.user + c.system;
          other = others().map((x, i) => x - other0[i]!);
          if (profiling) void profiler!.post('Profiler.stop').then(({ profile }) => saveProfile(profile));
          profiling = false;
        } else r = JSON.parse(l) as { rate: number; deliveredRate: number };
      });
      if (r === undefined) throw new Error('the load generator gave no result');
      const acked = r.rate * seconds;
      const res = {
        ...r,
        cpuPerMsg: cpu / acked,
        serverPerMsg: (other[0]! * 1e6) / acked,
        loadPerMsg: (other[1]! * 1e6) / acked,
      };
      results.get(phase)!.push(res);
      console.log(
        `${phase.padEnd(8)} ${r.rate.toFixed(0).padStart(8)} publishes/s acked, ${r.deliveredRate.toFixed(0)} delivered/s, ` +
          `broker ${res.cpuPerMsg.toFixed(1)} µs CPU/msg, other core: server ${res.serverPerMsg.toFixed(1)} + load ` +
          `${res.loadPerMsg.toFixed(1)} µs/msg (${(((other[0]! + other[1]!) / seconds) * 100).toFixed(0)} % of it)`,
      );
    }
  }
  console.log('median:');
  const none = median(results.get('none')?.map((x) => x.rate) ?? []);
  for (const [phase, rs] of results) {
    const rate = median(rs.map((x) => x.rate));
    const vsNone = none > 0 && phase !== 'none' ? `, ratio to none ${(rate / none).toFixed(3)}` : '';
    console.log(
      `  ${phase.padEnd(8)} ${rate.toFixed(0).padStart(8)} publishes/s, ${median(rs.map((x) => x.cpuPerMsg)).toFixed(1)} µs CPU/msg, ` +
        `server ${median(rs.map((x) => x.serverPerMsg)).toFixed(1)} µs/msg, load ${median(rs.map((x) => x.loadPerMsg)).toFixed(1)} µs/msg${vsNone}`,
    );
  }
  await node.stop();
  if (profileFile !== undefined) {
    // Profiles of several phases are merged by keeping the last one: the first rounds warm the JIT up.
    while (profiling) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    if (lastProfile !== undefined) {
      writeFileSync(profileFile, JSON.stringify(lastProfile));
      console.log(renderProfile(profileFile, process.cwd(), 30));
    }
    profiler!.disconnect();
  }
  await clientOnly(providerPort, phases.filter((p) => p !== 'none') as GrpcClientKind[], repeat);
  prov.kill();
}

type GrpcClientKind = ExhookServerConfig['grpc_client'];

let lastProfile: object | undefined;
function saveProfile(profile: object): void {
  lastProfile = profile;
}

/**
 * The per-call cost of each gRPC client alone, without the broker around it: `calls` OnMessagePublish calls,
 * 64 in flight, from this process (still on the broker's core). CPU time per call is less disturbed by a
 * busy machine than a throughput figure whose round trips wait for other processes' time slices.
 */
async function clientOnly(providerPort: number, kinds: GrpcClientKind[], repeat: number): Promise<void> {
  const calls = Number(arg('calls', '5000'));
  if (kinds.length === 0 || calls === 0) return;
  const inFlight = 64;
  const request = {
    message: {
      node: 'bench@127.0.0.1',
      id: '0005F1A2B3C4D5E6',
      qos: 1,
      from: 'bench-pub-0',
      topic: 'bench/0',
      payload: Buffer.alloc(64, 'x'),
      timestamp: Date.now(),
      headers: {},
    },
  };
  const perCall = new Map<GrpcClientKind, number[]>(kinds.map((k) => [k, []]));
  for (let round = 0; round < repeat; round++) {
    for (const kind of kinds) {
      const cfg = {
        url: `http://127.0.0.1:${providerPort}`,
        pool_size: 8,
        grpc_client: kind,
        ssl: { enable: false },
      };
      const conn = connectProvider(cfg as ExhookServerConfig);
      // Warm-up: the connection and the JIT.
      await Promise.all(
        Array.from({ length: 500 }, () =>
          conn.call('OnMessagePublish', 'v3', request, 'k', Date.now() + 10_000),
        ),
      );
      const c0 = process.cpuUsage();
      let started = 0;
      let failed = 0;
      await new Promise<void>((resolve) => {
        let done = 0;
        const go = (): void => {
          if (started === calls) return;
          const key = `k${started++ % inFlight}`;
          void conn.call('OnMessagePublish', 'v3', request, key, Date.now() + 10_000).then((r) => {
            if (!r.ok) failed++;
            if (++done === calls) resolve();
            else go();
          });
        };
        for (let i = 0; i < inFlight; i++) go();
      });
      const c = process.cpuUsage(c0);
      conn.close();
      if (failed > 0) throw new Error(`${failed} of ${calls} ${kind} calls failed`);
      perCall.get(kind)!.push((c.user + c.system) / calls);
    }
  }
  console.log(`client alone, ${calls} calls, ${inFlight} in flight, CPU µs per call (median of ${repeat}):`);
  for (const [kind, xs] of perCall)
    console.log(`  ${kind.padEnd(8)} ${median(xs).toFixed(1).padStart(8)} µs`);
}

const mode = process.argv[2];
if (mode === 'provider') void provider(process.argv[3] ?? 'ignore');
else if (mode === 'bare-provider') void bareProvider(process.argv[3] ?? 'ignore');
else if (mode === 'lean-provider') void leanProvider(process.argv[3] ?? 'ignore');
else if (mode === 'load') {
  const [, , , port, seconds, publishers, window] = process.argv;
  void load(Number(port), Number(seconds), Number(publishers), Number(window));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
