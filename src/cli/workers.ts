/**
 * `hermod start --workers N`: N Hermod nodes on one machine under `node:cluster` (Node 20 has no
 * SO_REUSEPORT). The primary process runs no broker: it forks the workers, shares their TCP/TLS/WebSocket
 * listening sockets (it accepts and hands each connection to a worker, round robin), restarts a worker that
 * crashed (with back-off; a worker that stopped cleanly, e.g. on a SIGTERM to its own pid, stays stopped), and
 * stops them all gracefully on SIGTERM/SIGINT or `hermod stop`.
 *
 * Each worker is a full node and a member of one cluster over NATS, so `cluster.nats.servers` is required.
 * Worker k (1-based, stable across restarts) differs from the configured node only by what must be unique:
 * - `node.name` gets `-w<k>` before the `@` (`hermod@127.0.0.1` → `hermod-w1@127.0.0.1`; no `@`: at the end);
 * - worker 1 keeps `node.data_dir` (so `hermod ctl` finds it), worker k ≥ 2 uses `<data_dir>/w<k>`;
 * - log files get `-w<k>` before their extension (the primary writes the configured files);
 * - worker 1 serves the management API and owns every UDP listener; the other workers run neither.
 * These reach the worker as HERMOD_* environment overrides, so its raw config (which runtime changes build
 * on) says the same as its live config.
 */
import cluster, { type Worker } from 'node:cluster';
import { extname, join } from 'node:path';
import type { HermodConfig } from '../config/schema/index.js';
import { logger } from '../log.js';

/** The environment variable that tells a forked process which worker it is (1-based). */
export const WORKER_ENV = 'HERMOD_WORKER';

/** The most workers one primary runs (more than cores makes no sense; this only catches typos). */
export const MAX_WORKERS = 256;

/** Longest pause before a crashed worker is started again. */
const MAX_RESTART_DELAY_MS = 60_000;
/** A worker that ran this long is healthy again: its next crash restarts after the base delay. */
const STABLE_AFTER_MS = 60_000;

/** What a worker tells the primary once its node is up. */
export interface WorkerReady {
  type: 'hermod-worker-ready';
  node: string;
  pid: number;
  /** Its listeners, "tcp:default on 1883, …". */
  ports: string;
}

/** `hermod@127.0.0.1` → `hermod-w2@127.0.0.1`; a name without `@` gets the suffix at its end. */
export function workerName(base: string, index: number): string {
  const at = base.indexOf('@');
  return at < 0 ? `${base}-w${index}` : `${base.slice(0, at)}-w${index}${base.slice(at)}`;
}

/** `log/hermod.log` → `log/hermod-w2.log`. */
export function workerLogPath(path: string, index: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-w${index}${ext}`;
}

/** Worker k's slot number from the environment, when this process is a worker forked by `--workers`. */
export function workerIndex(env: Record<string, string | undefined>): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(env[WORKER_ENV]);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** The environment overrides that make worker `index` of the node configured by `config`. */
export function workerEnv(config: HermodConfig, index: number): Record<string, string> {
  const env: Record<string, string> = {
    [WORKER_ENV]: String(index),
    HERMOD_NODE__NAME: workerName(config.node.name, index),
  };
  if (index > 1) {
    env.HERMOD_NODE__DATA_DIR = join(config.node.data_dir, `w${index}`);
    env.HERMOD_DASHBOARD__LISTENERS__HTTP__ENABLE = 'false';
    env.HERMOD_DASHBOARD__LISTENERS__HTTPS__ENABLE = 'false';
  }
  for (const [name, file] of Object.entries(config.log.file)) {
    // Environment paths are lower-cased on reading; other handler names are reported by the primary.
    if (name === name.toLowerCase() && !name.includes('__'))
      env[`HERMOD_LOG__FILE__${name.toUpperCase()}__PATH`] = workerLogPath(file.path, index);
  }
  return env;
}

/** Why `--workers` cannot run with this config, or undefined when it can. */
export function workersRefusal(config: HermodConfig, workers: number): string | undefined {
  if (config.cluster.nats.servers.length > 0) return undefined;
  return [
    `--workers ${workers} runs ${workers} cluster nodes, and cluster nodes meet over NATS JetStream: set cluster.nats.servers.`,
    'Start a nats-server with JetStream first (Debian: apt-get install nats-server), for example:',
    '  nats-server -js -a 127.0.0.1 -p 4222 -sd /var/lib/hermod-nats',
    'then add to the config file:  cluster.nats.servers = ["nats://127.0.0.1:4222"]',
    `or run:  HERMOD_CLUSTER__NATS__SERVERS='["nats://127.0.0.1:4222"]' hermod start --workers ${workers}`,
    'scripts/cluster-demo.sh starts nats-server and three nodes on one machine (see docs/cluster.md).',
  ].join('\n');
}

/** Pause before restarting a worker that crashed `failures` times in a row (doubling, capped). */
export function restartDelay(failures: number, baseMs: number): number {
  return Math.min(MAX_RESTART_DELAY_MS, baseMs * 2 ** Math.max(0, failures - 1));
}

interface Slot {
  index: number;
  name: string;
  worker: Worker | undefined;
  startedAt: number;
  /** Crashes since it last ran for STABLE_AFTER_MS. */
  failures: number;
  ready: WorkerReady | undefined;
  restart: NodeJS.Timeout | undefined;
}

export interface SupervisorOptions {
  config: HermodConfig;
  workers: number;
  /** The `hermod start` arguments the workers run with. */
  args: string[];
  /** The environment the workers inherit (plus their own overrides). */
  env: Record<string, string | undefined>;
}

/**
 * The primary's side: forks the workers, waits until all are up, restarts crashed ones and stops them all.
 * `started` resolves once every worker is up, or rejects when one failed to start (the others are then
 * stopped); `stopped` resolves with the exit code once every worker is gone after `stop()`.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private exitCode = 0;
  private readonly baseDelayMs: number;
  private startup: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private stoppedResolve: ((code: number) => void) | undefined;
  readonly started: Promise<void>;
  readonly stopped: Promise<number>;

  constructor(private readonly opts: SupervisorOptions) {
    const c = opts.config.cluster;
    // A restarted worker takes its old name back only once the cluster stopped counting the crashed one
    // as alive (membership.ts refuses a name heard from within node_down_after).
    this.baseDelayMs = Math.max(1000, c.node_down_after + c.heartbeat_interval);
    this.started = new Promise((resolve, reject) => (this.startup = { resolve, reject }));
    this.stopped = new Promise((resolve) => (this.stoppedResolve = resolve));
    for (let i = 1; i <= opts.workers; i++)
      this.slots.push({
        index: i,
        name: workerName(opts.config.node.name, i),
        worker: undefined,
        startedAt: 0,
        failures: 0,
        ready: undefined,
        restart: undefined,
      });
  }

  /** Forks every worker. */
  start(): void {
    // Round robin by the primary (Linux's default too, but NODE_CLUSTER_SCHED_POLICY could change it):
    // the kernel's own choice piles connections onto the busiest accepting worker.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.setupPrimary({ exec: process.argv[1], args: ['start', ...this.opts.args] });
    for (const slot of this.slots) this.fork(slot);
  }

  /** What each worker said when it came up (in worker order). */
  get workers(): WorkerReady[] {
    return this.slots.flatMap((s) => (s.ready === undefined ? [] : [s.ready]));
  }

  /** Stops every worker gracefully (SIGTERM: each stops its node as `hermod stop` would). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const slot of this.slots) {
      clearTimeout(slot.restart);
      slot.restart = undefined;
      slot.worker?.process.kill('SIGTERM');
    }
    this.checkStopped();
  }

  private fork(slot: Slot): void {
    slot.ready = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...this.opts.env, ...workerEnv(this.opts.config, slot.index) });
    slot.worker = worker;
    worker.on('message', (m: unknown) => {
      if ((m as WorkerReady | undefined)?.type !== 'hermod-worker-ready') return;
      slot.ready = m as WorkerReady;
      logger.info({ worker: slot.index, node: slot.name, pid: worker.process.pid }, 'worker up');
      if (this.startup !== undefined && this.slots.every((s) => s.ready !== undefined)) {
        this.startup.resolve();
        this.startup = undefined;
      }
    });
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const how = signal !== null ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      if (code !== 0) this.exitCode = 1;
      this.checkStopped();
      return;
    }
    if (this.startup !== undefined) {
      // A worker that cannot start (bad port, name in use, NATS unreachable) will not start on a retry either.
      const startup = this.startup;
      this.startup = undefined;
      this.exitCode = 1;
      startup.reject(new Error(`worker ${slot.index} (${slot.name}) failed to start (${how})`));
      this.stop();
      return;
    }
    if (code === 0 && signal === null) {
      // Stopped on purpose (SIGTERM to its pid): like systemd's Restart=on-failure, only failures restart.
      logger.warn({ worker: slot.index, node: slot.name }, 'worker stopped; it is not restarted');
      if (this.slots.every((s) => s.worker === undefined && s.restart === undefined)) this.stop();
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    slot.failures = ranMs >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
    const delay = restartDelay(slot.failures, this.baseDelayMs);
    logger.error(
      { worker: slot.index, node: slot.name, pid: worker.process.pid, exit: how, restart_in_ms: delay },
      'worker ended unexpectedly; restarting it',
    );
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!this.stopping) this.fork(slot);
    }, delay);
  }

  private checkStopped(): void {
    if (!this.stopping || this.slots.some((s) => s.worker !== undefined)) return;
    this.startup?.reject(new Error('stopped before every worker was up'));
    this.startup = undefined;
    this.stoppedResolve?.(this.exitCode);
  }
}
