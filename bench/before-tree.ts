/**
 * Hermod as built in another directory (an earlier revision: a worktree with node_modules linked and
 * `npm run build` run), started as bench/brokers.ts starts Hermod, so the `--before DIR` option of the
 * single-phase tools (connect-rate, subscribe-rate, retained-rate) measures both trees in the same rounds;
 * and the set-up those tools share.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BROKER_CPU,
  type BrokerDef,
  LOADGEN_CPU,
  ROOT,
  type RunningBroker,
  selectBrokers,
} from './brokers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function hermodAt(root: string): BrokerDef {
  return {
    name: 'hermod',
    label: 'Hermod (before)',
    version: () => root,
    settings: [],
    lacks: new Set(),
    ensureInstalled() {},
    async start(o): Promise<RunningBroker> {
      const out = openSync(o.logFile, 'a');
      const script = join(root, 'dist', 'bench', 'servers', 'hermod.js');
      // BEFORE_NODE_FLAGS: V8/Node flags for this broker only (experiments such as --no-opt).
      const flags = (process.env.BEFORE_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
      const env = { ...process.env, ...(o.dataDir === undefined ? {} : { BENCH_DATA_DIR: o.dataDir }) };
      const child = spawn('taskset', ['-c', BROKER_CPU, process.execPath, ...flags, script, String(o.port)], {
        stdio: ['ignore', out, out],
        cwd: root,
        env,
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // As bench/brokers.ts: wait for the server's own line (the node is still starting when the port accepts).
      const deadline = Date.now() + 30_000;
      while (!readFileSync(o.logFile, 'utf8').includes(`hermod listening on ${o.port}`)) {
        if (Date.now() > deadline) throw new Error(`Hermod (before) did not listen on ${o.port}`);
        await sleep(50);
      }
      return {
        pid: child.pid!,
        exited,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
  };
}

/**
 * What each single-phase tool sets up first: this process pinned to the load generator's CPU (the broker
 * runs on the other) and the directory for broker logs, returned.
 */
export function pinLoadAndLogs(): string {
  spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
  const logs = join(ROOT, '.tmp', 'bench-logs');
  mkdirSync(logs, { recursive: true });
  return logs;
}

/** The brokers named in `list` (comma-separated), after the `--before` tree's Hermod when there is one. */
export function brokersWithBefore(before: string | undefined, list: string): BrokerDef[] {
  return [...(before === undefined ? [] : [hermodAt(before)]), ...selectBrokers(list.split(','))];
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The machine's load averages (1, 5, 15 min) as printed next to each run. */
export const loadAverage = (): string =>
  readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
