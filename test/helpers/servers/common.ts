/**
 * Running a private database server for a test file: a free loopback port, a temp data dir, a child
 * process that is stopped (and its dir removed) afterwards, even when the test process exits early.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port nobody listens on right now (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A fresh temp directory, world-accessible so servers running as another user can use it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hermod-${prefix}-`));
  chmodSync(dir, 0o777);
  return dir;
}

/** Resolves once something accepts TCP connections on the port (rejects after `ms`). */
export async function waitForPort(port: number, ms: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc !== undefined && proc.exitCode !== null)
      throw new Error(`server exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A started server process with its data dir. */
export interface ServerProcess {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** Output so far (for error messages). */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL) and removes the data dir. */
  stop(): Promise<void>;
  /** Stops the process only (the data dir stays), for "backend down" tests. */
  kill(): Promise<void>;
  /** Starts the same server again (same port and data dir) after kill(). */
  restart(): Promise<ServerProcess>;
}

/** Spawns `cmd` and waits until it listens on `port`. */
export interface ProcessOptions {
  /** How long to wait for the port (default 60 s). */
  readyMs?: number;
  /** Signal that stops the server promptly (PostgreSQL: SIGINT, since SIGTERM waits for clients). */
  stopSignal?: NodeJS.Signals;
  /** Run as this user id / group id (servers that refuse root). */
  uid?: number;
  gid?: number;
  /**
   * Waits until the server serves requests, after its port opened (PostgreSQL listens while it still
   * answers "the database system is starting up"); runs on every start, restarts included.
   */
  ready?: (port: number) => Promise<void>;
}

export async function startProcess(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  dir: string,
  opts: ProcessOptions = {},
): Promise<ServerProcess> {
  const readyMs = opts.readyMs ?? 60_000;
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid });
  running.add(proc);
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(opts.stopSignal ?? 'SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    running.delete(proc);
  };
  try {
    await waitForPort(port, readyMs, proc);
    await opts.ready?.(port);
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${name} did not start: ${(err as Error).message}\n${out.slice(-2000)}`);
  }
  return {
    port,
    dir,
    proc,
    output: () => out,
    kill,
    restart: () => startProcess(name, cmd, args, port, dir, opts),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(
  cmd: string,
  args: string[],
  input?: string,
  user?: { uid: number; gid: number },
): string {
  const r = spawnSync(cmd, args, {
    input,
    encoding: 'utf8',
    timeout: 120_000,
    uid: user?.uid,
    gid: user?.gid,
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`,
    );
  return r.stdout;
}
