/**
 * The three brokers under test: how each is installed, configured and started (pinned to CPU 0), and every
 * setting that differs from its defaults, so the results page can list them.
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuthKind, writeMosquittoPasswordFile } from './auth.js';
import { canConnect } from './children.js';
import { LIMITS } from './scenarios.js';
import type { HeapSample } from './servers/heap-probe.js';

export const BROKER_CPU = '0';
export const LOADGEN_CPU = '1';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
export const ROOT = join(here, '..', '..');

export interface RunningBroker {
  pid: number;
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  /**
   * The broker's V8 heap and external memory after a forced GC (Node brokers started with `heapProbe`;
   * undefined for the others, whose memory is only seen through RSS).
   */
  heap?(): Promise<HeapSample>;
}

export interface StartOptions {
  port: number;
  /** Write a V8 CPU profile (Node brokers only) into this directory under this name. */
  cpuProf?: { dir: string; name: string };
  /** Where the broker's stdout/stderr go. */
  logFile: string;
  /** How clients log in (default none: anonymous). */
  auth?: AuthKind;
  /** Keep the broker's state (retained messages) in this directory, across a stop and a start. */
  dataDir?: string;
  /**
   * Node brokers: start with --expose-gc and an IPC channel so that `RunningBroker.heap()` can ask for the
   * heap after a forced GC (bench/servers/heap-probe.ts). Off by default: no other run pays for it.
   */
  heapProbe?: boolean;
}

/** What a broker may lack: shared subscriptions, or a built-in way to check a login of that kind. */
export type Feature = 'shared' | 'persistence' | Exclude<AuthKind, 'none'>;

export interface BrokerDef {
  name: 'hermod' | 'aedes' | 'mosquitto';
  label: string;
  version(): string;
  /** Settings that differ from the broker's defaults, one line each, for the results page. */
  settings: string[];
  /** Features a scenario needs that this broker lacks (the scenario is reported as unsupported). */
  lacks: Set<Feature>;
  ensureInstalled(): void;
  start(o: StartOptions): Promise<RunningBroker>;
}

function nodeBroker(script: string, o: StartOptions): ChildProcess {
  // BENCH_NODE_FLAGS='--max-semi-space-size=1 …': Node/V8 flags for the Hermod and Aedes processes, to
  // measure what a flag changes (bench/results/2026-12-04-connect.md).
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f.length > 0);
  const args = ['-c', BROKER_CPU, process.execPath, ...flags];
  if (o.heapProbe === true) args.push('--expose-gc');
  if (o.cpuProf !== undefined) {
    args.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProf.dir}`, `--cpu-prof-name=${o.cpuProf.name}`);
  }
  args.push(join(ROOT, 'dist', 'bench', 'servers', script), String(o.port));
  const out = openSync(o.logFile, 'a');
  const env = {
    ...process.env,
    ...(o.auth === undefined ? {} : { BENCH_AUTH: o.auth }),
    ...(o.dataDir === undefined ? {} : { BENCH_DATA_DIR: o.dataDir }),
  };
  const stdio: StdioOptions = o.heapProbe === true ? ['ignore', out, out, 'ipc'] : ['ignore', out, out];
  return spawn('taskset', args, { stdio, cwd: ROOT, env });
}

/** Asks a broker started with `heapProbe` for its heap after a forced GC (answered by heap-probe.ts). */
function heapOf(child: ChildProcess): (() => Promise<HeapSample>) | undefined {
  if (child.send === undefined) return undefined;
  return () =>
    new Promise<HeapSample>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error('the broker did not answer the heap probe in 60 s')),
        60_000,
      );
      child.once('message', (m) => {
        clearTimeout(t);
        resolve(m as HeapSample);
      });
      child.send!('heap');
    });
}

async function running(child: ChildProcess, port: number): Promise<RunningBroker> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (gone) throw new Error(`broker exited before listening on ${port}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`broker did not listen on ${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid!,
    exited,
    heap: heapOf(child),
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function packageVersion(path: string): string {
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

const hermod: BrokerDef = {
  name: 'hermod',
  label: 'Hermod',
  version() {
    let commit = '';
    try {
      const git = (...args: string[]) =>
        execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      commit = git('rev-parse', '--short', 'HEAD').trim();
      const dirty = git('status', '--porcelain', '--', 'src');
      if (dirty.trim().length > 0) commit += '+dirty';
    } catch {
      // Not a git checkout (e.g. a `git archive` snapshot): the caller may say which revision it is.
      commit = process.env.HERMOD_REV ?? '';
    }
    return `${packageVersion(join(ROOT, 'package.json'))}${commit ? ` (${commit})` : ''}`;
  },
  settings: [
    'bench/servers/hermod.ts: HermodNode with store ":memory:", tcp listener 127.0.0.1:PORT, ws listener disabled',
    "sys_topics.sys_msg_interval = sys_heartbeat_interval = 'disabled'",
    `mqtt.max_inflight = ${LIMITS.maxInflight} (default 32)`,
    `mqtt.max_mqueue_len = ${LIMITS.maxQueued} (default 1000)`,
    'file descriptors kept for the management API: 32 (default 5 % of the limit, 1 000 of 20 000, which refused part of S4)',
    'everything else at its default (tcp nodelay on, logging at warning)',
    ...(process.env.BENCH_DURABILITY
      ? [`durability.mode = ${process.env.BENCH_DURABILITY}, store on disk in a temp dir (BENCH_DURABILITY)`]
      : []),
    ...(process.env.BENCH_PERSISTENT === '1'
      ? ['clients connect with clean session 0 (BENCH_PERSISTENT)']
      : []),
    'authenticated connection curves: see bench/auth.ts (built-in database with pbkdf2 or bcrypt, JWT HS256)',
    'retained restart curve: the store in a temp dir (BENCH_DATA_DIR), durability.mode = periodic',
  ],
  lacks: new Set(),
  ensureInstalled() {},
  async start(o) {
    const b = await running(nodeBroker('hermod.js', o), o.port);
    // The MQTT listener accepts before the node has finished starting (the management API compiles its
    // routes after it): wait for the server's own line, so start-up work is not measured.
    await waitForLine(o.logFile, `hermod listening on ${o.port}`, 30_000);
    return b;
  },
};

async function waitForLine(file: string, line: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!readFileSync(file, 'utf8').includes(line)) {
    if (Date.now() > deadline) throw new Error(`no "${line}" in ${file} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const aedes: BrokerDef = {
  name: 'aedes',
  label: 'Aedes',
  version() {
    return packageVersion(join(ROOT, 'node_modules', 'aedes', 'package.json'));
  },
  settings: [
    'bench/servers/aedes.ts: Aedes.createBroker() with its defaults (memory persistence, mqemitter, concurrency 100)',
    'net.createServer(aedes.handle) on 127.0.0.1:PORT, Node defaults (Nagle on: with noDelay Aedes measured about half the S1 QoS 1 throughput here)',
    'Aedes has no inflight or queue limit to set (it writes to the socket as messages come)',
    'no shared subscriptions in Aedes: S3 shared is reported as unsupported',
  ],
  // Aedes checks logins only through a user-written authenticate callback: no built-in store to compare.
  // Its memory persistence (the default) keeps nothing across a restart.
  lacks: new Set(['shared', 'pbkdf2', 'bcrypt', 'jwt', 'persistence']),
  ensureInstalled() {},
  async start(o) {
    return running(nodeBroker('aedes.js', o), o.port);
  },
};

const MOSQUITTO_SETTINGS = (port: number) => [
  `listener ${port} 127.0.0.1`,
  'allow_anonymous true',
  'persistence false',
  `max_inflight_messages ${LIMITS.maxInflight}`,
  // 0 = no limit. A finite limit (even 100000, far above the ≤ 32 000 messages the load generator can have
  // outstanding) made Mosquitto 2.0.11 drop 20–40 % of the QoS 1 messages of S3 with "Outgoing messages are
  // being dropped"; with 0 it drops none.
  'max_queued_messages 0',
  'max_queued_bytes 0',
  'max_inflight_bytes 0',
  'max_connections -1',
  'sys_interval 0',
  'log_dest stderr',
  'log_type error',
  'log_type warning',
];

function mosquittoBinary(): string | undefined {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (existsSync(p)) return p;
  }
  const r = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const mosquitto: BrokerDef = {
  name: 'mosquitto',
  label: 'Mosquitto',
  version() {
    const bin = mosquittoBinary();
    if (bin === undefined) return 'not installed';
    const r = spawnSync(bin, ['-h'], { encoding: 'utf8' });
    return /mosquitto version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
  },
  settings: [
    'Debian package, generated config file (nothing else):',
    ...MOSQUITTO_SETTINGS(0).map((l) => `  ${l.replace('listener 0', 'listener PORT')}`),
    'authenticated connection curves (pbkdf2): allow_anonymous false and a password_file written by mosquitto_passwd',
    'retained restart curve: persistence true, persistence_location a temp dir (saved at shutdown, loaded at start)',
    `max_inflight_messages = Hermod's max_inflight (default 20). max_queued_messages 0 = no limit (default 1000, which drops messages in S3): a finite value as Hermod's ${LIMITS.maxQueued} still made 2.0.11 drop 20–40 % of S3's QoS 1 messages although the load generator never has more than 32 000 outstanding. The byte limits and max_connections are their defaults (none), written out. sys_interval 0 as Hermod's $SYS publishing is off. set_tcp_nodelay stays at its default (false): with true, Mosquitto measured about half the S1 throughput here`,
  ],
  // Mosquitto's password_file is PBKDF2-SHA512 only; bcrypt or JWT would need a plugin.
  lacks: new Set(['bcrypt', 'jwt']),
  ensureInstalled() {
    if (mosquittoBinary() !== undefined) return;
    const root = process.getuid?.() === 0;
    const prefix = root ? [] : ['sudo'];
    const apt = (args: string[]) => {
      const [cmd, ...rest] = [...prefix, ...args];
      execFileSync(cmd, rest, {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    };
    console.log('bench: installing mosquitto (Debian package)');
    try {
      apt(['apt-get', 'install', '-y', '-qq', 'mosquitto']);
    } catch {
      apt(['apt-get', 'update', '-qq']);
      apt(['apt-get', 'install', '-y', '-qq', 'mosquitto']);
    }
    if (mosquittoBinary() === undefined) throw new Error('mosquitto is still missing after apt-get install');
  },
  async start(o) {
    const dir = mkdtempSync(join(tmpdir(), 'hermod-bench-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    const lines = MOSQUITTO_SETTINGS(o.port);
    if (o.auth === 'pbkdf2') {
      const passwords = join(dir, 'passwords');
      writeMosquittoPasswordFile(passwords);
      // Started as root, Mosquitto reads the file as its own user.
      chmodSync(dir, 0o755);
      chmodSync(passwords, 0o644);
      lines[lines.indexOf('allow_anonymous true')] = 'allow_anonymous false';
      lines.push(`password_file ${passwords}`);
    } else if (o.auth !== undefined && o.auth !== 'none') {
      throw new Error(`mosquitto has no built-in ${o.auth} authentication`);
    }
    if (o.dataDir !== undefined) {
      // Saved at shutdown (autosave_interval stays at its default), loaded at start. Started as root,
      // Mosquitto drops to its own user, which must be able to write there.
      chmodSync(o.dataDir, 0o777);
      lines[lines.indexOf('persistence false')] = 'persistence true';
      lines.push(`persistence_location ${o.dataDir}/`);
    }
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const out = openSync(o.logFile, 'a');
    const child = spawn('taskset', ['-c', BROKER_CPU, mosquittoBinary()!, '-c', conf], {
      stdio: ['ignore', out, out],
    });
    return running(child, o.port);
  },
};

export const BROKERS: BrokerDef[] = [hermod, aedes, mosquitto];

export function selectBrokers(names: string[]): BrokerDef[] {
  if (names.length === 0) return BROKERS;
  const want = names.map((n) => n.toLowerCase());
  const unknown = want.filter((n) => !BROKERS.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown broker ${unknown.join(', ')}; known: ${BROKERS.map((b) => b.name).join(', ')}`);
  }
  return BROKERS.filter((b) => want.includes(b.name));
}
