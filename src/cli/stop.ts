/**
 * `hermod stop`: asks the running node to stop gracefully (SIGTERM to the pid in <data_dir>/hermod.pid, or
 * the pid in ctl.endpoint) and waits until the process has exited.
 */
import { join } from 'node:path';
import { readEndpoint } from '../mgmt/runtime.js';
import { locateDataDir } from './node-api.js';
import { PID_FILE, runningPid } from './start.js';

export const STOP_USAGE = `Usage: hermod stop [--data-dir <dir>] [--config <file>] [--timeout <seconds>]

Stops the node whose data dir is given (default: HERMOD_DATA_DIR, node.data_dir of the config, "data")
and waits for it to exit (default timeout 60 s).
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `hermod stop`; resolves to the exit code. */
export async function stop(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let dataDir: string | undefined;
  let config: string | undefined;
  let timeoutS = 60;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if ((a === '--data-dir' || a === '--config' || a === '--timeout') && v !== undefined) {
      if (a === '--data-dir') dataDir = v;
      else if (a === '--config') config = v;
      else timeoutS = Number(v);
      i++;
    } else {
      process.stderr.write(STOP_USAGE);
      return 1;
    }
  }
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    process.stderr.write(STOP_USAGE);
    return 1;
  }
  let dir: string;
  try {
    dir = locateDataDir({ dataDir, config }, env);
  } catch (err) {
    process.stderr.write(`hermod stop: ${(err as Error).message}\n`);
    return 1;
  }
  const endpointPid = readEndpoint(dir)?.pid;
  const pid =
    runningPid(join(dir, PID_FILE)) ??
    (endpointPid !== undefined && alive(endpointPid) ? endpointPid : undefined);
  if (pid === undefined) {
    process.stderr.write(`hermod stop: no running node in ${dir}\n`);
    return 1;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutS * 1000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.stderr.write(`hermod stop: node (pid ${pid}) still running after ${timeoutS}s\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(`Hermod (pid ${pid}) stopped\n`);
  return 0;
}
