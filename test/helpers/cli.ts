/** Runs the `hermod` command line as a user would: `node bin/hermod.js <args>` in a subprocess. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/hermod.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hermod <args>` to completion (killed after 30 s, so a hung command fails its test instead of the run). */
export function hermod(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // node --test marks its children with NODE_TEST_CONTEXT; cleared so the CLI runs as a plain process.
      env: { ...process.env, NODE_TEST_CONTEXT: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `hermod` command running in the background (see spawnHermod). */
export interface HermodRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs bin/hermod.js from the repository root in the background, with a clean HERMOD_* environment plus `env`. */
export function spawnHermod(args: string[], env: Record<string, string> = {}): HermodRun {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HERMOD_') && k !== 'NODE_TEST_CONTEXT'),
  );
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'hermod.js'), ...args], {
    cwd: repoRoot(),
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}
