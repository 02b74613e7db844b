/**
 * The broker's CPU per lone packet: traffic where every socket read carries one packet and every write one
 * frame, with nothing else to batch with. Two kinds, each as strict ping-pong per client:
 *
 * - `ping`: C clients, each with one PINGREQ outstanding (the next goes when its PINGRESP arrives);
 * - `pub`:  C publisher/subscriber pairs (topic per pair, QoS 1), one message outstanding per pair: the next
 *   PUBLISH goes once the publisher has its PUBACK and the subscriber the message (which it PUBACKs).
 *
 * Reported per round: operations/s and the broker's CPU µs per operation, all threads and main thread only,
 * from /proc/<pid>/task/<tid>/schedstat (ns, and only that process's time: a busy machine slows the run but
 * barely changes the CPU per operation). `--root DIR` (repeatable) adds the Hermod built in DIR (a worktree
 * of another revision with its own dist/); rounds alternate between the trees so each sees the same machine.
 *
 *   npm run build && taskset -c 1 node dist/bench/lone-trip.js [--kind ping,pub] [--clients 50]
 *     [--seconds 4] [--warmup 2] [--rounds 3] [--root DIR]... [--mosquitto]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BROKER_CPU, ROOT, selectBrokers } from './brokers.js';
import { canConnect, freePort } from './children.js';
import { connectFrame, PUBACK, publishTemplate, subscribeFrame, writeAck } from './loadgen/frames.js';
import { mqttPackets } from './mqtt-frames.js';

const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'ping,pub' },
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    root: { type: 'string', multiple: true, default: [] },
    mosquitto: { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const LOGS = join(ROOT, '.tmp', 'bench-logs');
mkdirSync(LOGS, { recursive: true });

type Kind = 'ping' | 'pub';

const TICK_NS = 1e9 / 100; // USER_HZ: /proc/<pid>/stat counts clock ticks of 10 ms

/** CPU ns of every thread of `pid` and of its main thread; user and kernel time of the process (ticks). */
function cpuNs(pid: number): { all: number; main: number; user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the line (utime, stime) are 12 and 13 after the command name.
  const user = Number(fields[11]) * TICK_NS;
  const sys = Number(fields[12]) * TICK_NS;
  let all = 0;
  let main = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      all += ns;
      if (tid === String(pid)) main = ns;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { all, main, user, sys };
}

/** A raw MQTT client that only counts what arrives: `onPacket(type, packetId)` per complete packet. */
class Wire {
  onPacket: (type: number, packetId: number) => void = () => {};
  constructor(readonly sock: net.Socket) {}

  static open(port: number, clientId: string): Promise<Wire> {
    return new Promise((resolvePromise, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port, noDelay: true });
      const w = new Wire(sock);
      w.onPacket = (type) => {
        if (type === 2) resolvePromise(w);
      };
      sock.on('connect', () => sock.write(connectFrame(clientId, 600)));
      sock.on('data', (chunk: Buffer) => w.onData(chunk));
      sock.on('error', reject);
    });
  }

  /** Splits what arrives into packets, with the packet id of the acks and QoS > 0 PUBLISHes this load uses. */
  private readonly onData = mqttPackets((type, body) => {
    let packetId = 0;
    if (type === 4 || type === 9) packetId = body.readUInt16BE(0);
    else if (type === 3) packetId = body.readUInt16BE(2 + body.readUInt16BE(0));
    this.onPacket(type, packetId);
  });
}

const PINGREQ = Buffer.from([0xc0, 0]);

/** Opens the clients of `kind` and starts their ping-pong; returns a counter of completed operations. */
async function load(kind: Kind, port: number): Promise<{ ops: () => number; stop: () => void }> {
  let ops = 0;
  let running = true;
  const socks: net.Socket[] = [];
  if (kind === 'ping') {
    for (let c = 0; c < CLIENTS; c++) {
      const w = await Wire.open(port, `lone-ping-${c}`);
      socks.push(w.sock);
      w.onPacket = (type) => {
        if (type !== 13) return;
        ops++;
        if (running) w.sock.write(PINGREQ);
      };
    }
    for (const s of socks) s.write(PINGREQ);
  } else {
    const starts: Array<() => void> = [];
    for (let c = 0; c < CLIENTS; c++) {
      const topic = `lone/${c}`;
      const sub = await Wire.open(port, `lone-sub-${c}`);
      await new Promise<void>((ok) => {
        sub.onPacket = (type) => {
          if (type === 9) ok();
        };
        sub.sock.write(subscribeFrame(1, [topic], 1));
      });
      const pub = await Wire.open(port, `lone-pub-${c}`);
      socks.push(sub.sock, pub.sock);
      const t = publishTemplate(topic, 1, false);
      let id = 0;
      let acked = false;
      let delivered = false;
      const send = (): void => {
        acked = delivered = false;
        id = (id % 65535) + 1;
        const f = Buffer.from(t.frame);
        f.writeUInt16BE(id, t.pidOffset);
        pub.sock.write(f);
      };
      const next = (): void => {
        if (!acked || !delivered) return;
        ops++;
        if (running) send();
      };
      pub.onPacket = (type) => {
        if (type !== PUBACK) return;
        acked = true;
        next();
      };
      sub.onPacket = (type, packetId) => {
        if (type !== 3) return;
        const ack = Buffer.allocUnsafe(4);
        writeAck(ack, 0, PUBACK, packetId);
        sub.sock.write(ack);
        delivered = true;
        next();
      };
      starts.push(send);
    }
    for (const s of starts) s();
  }
  return {
    ops: () => ops,
    stop: () => {
      running = false;
      for (const s of socks) s.destroy();
    },
  };
}

interface Target {
  label: string;
  start(port: number): Promise<{ pid: number; stop(): Promise<void> }>;
}

function hermodAt(root: string): Target {
  return {
    label: `hermod ${root}`,
    async start(port) {
      const out = openSync(join(LOGS, 'hermod-lone-trip.log'), 'a');
      const script = join(root, 'dist', 'bench', 'servers', 'hermod.js');
      const child: ChildProcess = spawn(
        'taskset',
        ['-c', BROKER_CPU, process.execPath, script, String(port)],
        {
          stdio: ['ignore', out, out],
          cwd: root,
        },
      );
      const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
      const deadline = Date.now() + 15_000;
      while (!(await canConnect(port))) {
        if (Date.now() > deadline) throw new Error(`hermod in ${root} did not listen`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return {
        pid: child.pid!,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
  };
}

const targets: Target[] = [hermodAt(ROOT), ...(values.root as string[]).map((r) => hermodAt(resolve(r)))];
if (values.mosquitto) {
  const m = selectBrokers(['mosquitto'])[0]!;
  m.ensureInstalled();
  targets.push({
    label: 'mosquitto',
    start: (port) => m.start({ port, logFile: join(LOGS, 'mosquitto-lone-trip.log') }),
  });
}

const kinds = values.kind!.split(',') as Kind[];
const results = new Map<
  string,
  Array<{ all: number; main: number; user: number; sys: number; rate: number }>
>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of kinds) {
    for (const t of targets) {
      const port = await freePort();
      const broker = await t.start(port);
      const l = await load(kind, port);
      await sleep(WARMUP * 1000);
      const ops0 = l.ops();
      const cpu0 = cpuNs(broker.pid);
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const ops = l.ops() - ops0;
      const cpu1 = cpuNs(broker.pid);
      const secs = (performance.now() - t0) / 1000;
      l.stop();
      await broker.stop();
      const per = (a: number, b: number) => (b - a) / 1000 / ops;
      const r = {
        all: per(cpu0.all, cpu1.all),
        main: per(cpu0.main, cpu1.main),
        user: per(cpu0.user, cpu1.user),
        sys: per(cpu0.sys, cpu1.sys),
        rate: ops / secs,
      };
      const key = `${kind} ${t.label}`;
      (results.get(key) ?? results.set(key, []).get(key)!).push(r);
      const load1 = readFileSync('/proc/loadavg', 'latin1').split(' ')[0];
      console.log(
        `round ${round + 1} ${key}: ${r.rate.toFixed(0)} ops/s, CPU µs/op all ${r.all.toFixed(2)} main ${r.main.toFixed(2)} user ${r.user.toFixed(2)} kernel ${r.sys.toFixed(2)} (load ${load1})`,
      );
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log('\nmedians:');
for (const [key, rs] of results) {
  console.log(
    `  ${key}: CPU µs/op all ${median(rs.map((r) => r.all)).toFixed(2)} main ${median(rs.map((r) => r.main)).toFixed(2)} user ${median(rs.map((r) => r.user)).toFixed(2)} kernel ${median(rs.map((r) => r.sys)).toFixed(2)}, ${median(rs.map((r) => r.rate)).toFixed(0)} ops/s`,
  );
}
