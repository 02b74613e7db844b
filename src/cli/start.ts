/**
 * `hermod start [--config <file>] [--workers N]`: loads and validates the config (refusing to start on any
 * error), sets up logging, runs the node in the foreground with a pid file in node.data_dir, and stops
 * gracefully on SIGINT/SIGTERM. With `--workers N` this process supervises N worker nodes instead
 * (./workers.ts); each worker runs this same command and takes the worker branch below.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfigError, loadConfig } from '../config/load.js';
import type { HermodConfig } from '../config/schema/index.js';
import { logger } from '../log.js';
import { closeLogging, configureLogging, watchLogConfig } from '../log-setup.js';
import { HermodNode } from '../node.js';
import { packagedPluginsDir } from '../plugins/shipped.js';
import { ensurePrivateDir } from '../private-files.js';
import { setDatagramRole } from '../transport/datagram-role.js';
import { VERSION } from '../version.js';
import { MAX_WORKERS, type WorkerReady, WorkerSupervisor, workerIndex, workersRefusal } from './workers.js';

/** The pid file `hermod stop` reads, relative to node.data_dir. */
export const PID_FILE = 'hermod.pid';

/** Usage of `hermod start`, printed on bad arguments. */
export const START_USAGE = `Usage: hermod start [--config <file>] [--workers N]

Runs a broker node in the foreground. The config file may also be named by HERMOD_CONFIG; without one the
built-in defaults are used. HERMOD_<KEY>__<SUBKEY>=value environment variables override any key.

--workers N runs N nodes of one cluster on this machine, sharing the TCP/TLS/WebSocket ports (one process
per core; needs cluster.nats.servers, see docs/cluster.md).
`;

export interface StartArgs {
  config?: string;
  workers?: number;
}

/** `--config <file>` (`--config=<file>`, `-c <file>`) and `--workers N` (`--workers=N`); an error for anything else. */
export function parseStartArgs(args: string[]): StartArgs | { error: string } {
  const out: StartArgs = {};
  for (let n = 0; n < args.length; n++) {
    const a = args[n]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = flag !== a ? a.slice(eq + 1) : undefined;
    if (flag === '--config' || flag === '-c') {
      const v = inline ?? args[++n];
      if (v === undefined || v === '') return { error: `${flag} needs a file name` };
      out.config = v;
    } else if (flag === '--workers') {
      const v = inline ?? args[++n];
      const count = Number(v);
      if (v === undefined || !/^\d+$/.test(v) || count < 1 || count > MAX_WORKERS)
        return { error: `--workers needs a number of workers from 1 to ${MAX_WORKERS}` };
      out.workers = count;
    } else {
      return { error: `unknown argument ${a}` };
    }
  }
  return out;
}

/** Runs `hermod start`; resolves to the exit code once the node has stopped (or failed to start). */
export async function start(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const parsed = parseStartArgs(args);
  if ('error' in parsed) {
    process.stderr.write(`hermod start: ${parsed.error}\n\n${START_USAGE}`);
    return 1;
  }
  const file = parsed.config ?? (env.HERMOD_CONFIG || undefined);
  const worker = workerIndex(env);
  const loaded = loadConfig({ file, env });
  // The primary already printed the warnings once; N workers would repeat them.
  if (worker === undefined) for (const w of loaded.warnings) process.stderr.write(`config warning: ${w}\n`);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  const { config } = loaded;
  if (parsed.workers !== undefined && worker === undefined)
    return runWorkers(args, config, env, parsed.workers);
  const pidPath = join(config.node.data_dir, PID_FILE);
  // A worker shares the primary's pid file: the primary checked it.
  if (!claimProcess(config, worker === undefined ? pidPath : undefined)) return 1;
  if (worker !== undefined) setDatagramRole(worker === 1 ? 'own' : 'skip');
  // A node run from this installation gets the plugins packed with it; an embedded node only when asked.
  if (config.plugins.shipped_dir === '') config.plugins.shipped_dir = packagedPluginsDir();
  const node = new HermodNode(config, { raw: loaded.raw, overrides: loaded.overrides });
  try {
    await node.start();
  } catch (err) {
    const who = worker === undefined ? 'hermod' : `hermod (worker ${worker}, ${config.node.name})`;
    process.stderr.write(`${who}: failed to start: ${(err as Error).message}\n`);
    await node.stop().catch(() => undefined);
    return 1;
  }
  watchLogConfig(node.configService);
  // `hermod ctl conf reload` / POST /configs/reload: read the same sources again and apply what changed.
  node.mgmt?.setConfigReloader(async () => {
    const again = loadConfig({ file, env });
    if (!again.ok) throw new Error(again.errors.map(formatConfigError).join('\n'));
    return { changed: await node.configService.reload(again.raw) };
  });
  const ports = [...node.listeners.keys()].map((id) => `${id} on ${node.port(id)}`).join(', ');
  if (worker === undefined) {
    ensurePrivateDir(config.node.data_dir);
    writeFileSync(pidPath, `${process.pid}\n`);
    process.stdout.write(`Hermod ${VERSION} is running (${node.name}): ${ports}\n`);
  } else {
    const ready: WorkerReady = { type: 'hermod-worker-ready', node: node.name, pid: process.pid, ports };
    process.send?.(ready);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      // A worker gets Ctrl-C from the terminal and SIGTERM from the primary: one stop is enough.
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      const done = (code: number) => {
        if (worker === undefined && readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
        closeLogging(node.config.log);
        resolve(code);
      };
      node.stop().then(
        () => done(0),
        (err) => {
          logger.error({ err }, 'error while stopping');
          done(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/**
 * Refuses when the pid file names another live node (when `pidPath` is given), then sets up logging; false
 * (with the reason on stderr) when either fails.
 */
function claimProcess(config: HermodConfig, pidPath: string | undefined): boolean {
  const running = pidPath === undefined ? undefined : runningPid(pidPath);
  if (running !== undefined && running !== process.pid) {
    process.stderr.write(`hermod: already running as pid ${running} (${pidPath})\n`);
    return false;
  }
  try {
    configureLogging(config.log);
    return true;
  } catch (err) {
    process.stderr.write(`hermod: cannot set up logging: ${(err as Error).message}\n`);
    return false;
  }
}

/** The primary of `--workers N`: runs no broker, supervises N worker nodes (./workers.ts). */
async function runWorkers(
  args: string[],
  config: HermodConfig,
  env: Record<string, string | undefined>,
  workers: number,
): Promise<number> {
  const refusal = workersRefusal(config, workers);
  if (refusal !== undefined) {
    process.stderr.write(`hermod start: ${refusal}\n`);
    return 1;
  }
  const pidPath = join(config.node.data_dir, PID_FILE);
  if (!claimProcess(config, pidPath)) return 1;
  for (const name of Object.keys(config.log.file))
    if (name !== name.toLowerCase() || name.includes('__'))
      logger.warn({ handler: name }, 'log file handler name is not lower case: every worker writes its file');
  const supervisor = new WorkerSupervisor({ config, workers, args, env });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = true;
    logger.info({ signal }, 'stopping the workers');
    supervisor.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  supervisor.start();
  let up = true;
  try {
    await supervisor.started;
  } catch (err) {
    up = false;
    if (!signalled) process.stderr.write(`hermod: ${(err as Error).message}; stopping the other workers\n`);
  }
  if (up) {
    ensurePrivateDir(config.node.data_dir);
    writeFileSync(pidPath, `${process.pid}\n`);
    const list = supervisor.workers.map((w) => `${w.node} pid ${w.pid}`).join(', ');
    const ports = supervisor.workers[0]?.ports ?? '';
    process.stdout.write(`Hermod ${VERSION} is running ${workers} workers (${list}): ${ports}\n`);
  }
  const code = await supervisor.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
  closeLogging(config.log);
  return up || signalled ? code : 1;
}

/**
 * The pid in `path` when that process is alive and is a Hermod node; a stale file (crash, reboot, pid reused by
 * another program) does not count.
 */
export function runningPid(path: string): number | undefined {
  const pid = readPid(path);
  if (pid === undefined) return undefined;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    // Where /proc exists, make sure the pid is still a node running hermod and not a recycled pid.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('hermod') ? pid : undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self') ? undefined : pid;
  }
}

/** The pid written in a pid file, if any. */
export function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
