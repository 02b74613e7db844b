/**
 * `hermod start [--config <file>]`: loads and validates the config (refusing to start on any error), sets up
 * logging, runs the node in the foreground with a pid file in node.data_dir, and stops gracefully on
 * SIGINT/SIGTERM.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfigError, loadConfig } from '../config/load.js';
import { logger } from '../log.js';
import { closeLogging, configureLogging, watchLogConfig } from '../log-setup.js';
import { HermodNode } from '../node.js';
import { packagedPluginsDir } from '../plugins/shipped.js';
import { ensurePrivateDir } from '../private-files.js';
import { VERSION } from '../version.js';

/** The pid file `hermod stop` reads, relative to node.data_dir. */
export const PID_FILE = 'hermod.pid';

/** Usage of `hermod start`, printed on bad arguments. */
export const START_USAGE = `Usage: hermod start [--config <file>]

Runs a broker node in the foreground. The config file may also be named by HERMOD_CONFIG; without one the
built-in defaults are used. HERMOD_<KEY>__<SUBKEY>=value environment variables override any key.
`;

/** The config file named by `--config <file>`, `--config=<file>` or `-c <file>`; an error for anything else. */
export function parseStartArgs(args: string[]): { config?: string } | { error: string } {
  let config: string | undefined;
  for (let n = 0; n < args.length; n++) {
    const a = args[n]!;
    if (a === '--config' || a === '-c') {
      const v = args[++n];
      if (v === undefined || v === '') return { error: `${a} needs a file name` };
      config = v;
    } else if (a.startsWith('--config=')) {
      config = a.slice('--config='.length);
    } else {
      return { error: `unknown argument ${a}` };
    }
  }
  return config === undefined ? {} : { config };
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
  const loaded = loadConfig({ file, env });
  for (const w of loaded.warnings) process.stderr.write(`config warning: ${w}\n`);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  const { config } = loaded;
  const pidPath = join(config.node.data_dir, PID_FILE);
  const running = runningPid(pidPath);
  if (running !== undefined && running !== process.pid) {
    process.stderr.write(`hermod: already running as pid ${running} (${pidPath})\n`);
    return 1;
  }
  try {
    configureLogging(config.log);
  } catch (err) {
    process.stderr.write(`hermod: cannot set up logging: ${(err as Error).message}\n`);
    return 1;
  }
  // A node run from this installation gets the plugins packed with it; an embedded node only when asked.
  if (config.plugins.shipped_dir === '') config.plugins.shipped_dir = packagedPluginsDir();
  const node = new HermodNode(config, { raw: loaded.raw, overrides: loaded.overrides });
  try {
    await node.start();
  } catch (err) {
    process.stderr.write(`hermod: failed to start: ${(err as Error).message}\n`);
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
  ensurePrivateDir(config.node.data_dir);
  writeFileSync(pidPath, `${process.pid}\n`);
  const ports = [...node.listeners.keys()].map((id) => `${id} on ${node.port(id)}`).join(', ');
  process.stdout.write(`Hermod ${VERSION} is running (${node.name}): ${ports}\n`);
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      const done = (code: number) => {
        if (readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
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
