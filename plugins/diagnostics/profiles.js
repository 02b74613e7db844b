/**
 * Heap snapshots and CPU profiles written to files, for Chrome DevTools (Memory and Performance tabs) or
 * any tool that reads `.heapsnapshot` / `.cpuprofile`. The CPU profile runs through the inspector protocol
 * of this process (node:inspector), so no --inspect flag and no open debugger port are needed.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import v8 from 'node:v8';

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** Files hold the process's memory: readable by the node's user only. */
function privateFile(path) {
  chmodSync(path, 0o600);
  return path;
}

/** Writes a heap snapshot into `dir` (the process pauses while it is taken); resolves to its path. */
export function heapSnapshot(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return privateFile(v8.writeHeapSnapshot(join(dir, `heap-${stamp()}.heapsnapshot`)));
}

export class CpuProfiler {
  #session;

  get running() {
    return this.#session !== undefined;
  }

  /** Profiles the process for `seconds`, then writes the profile into `dir`; resolves to its path. */
  async profile(dir, seconds, sleep) {
    if (this.#session !== undefined) throw new Error('a CPU profile is already being taken');
    const session = new Session();
    this.#session = session;
    session.connect();
    const post = (method, params) =>
      new Promise((resolve, reject) =>
        session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
      );
    try {
      await post('Profiler.enable');
      await post('Profiler.start');
      await sleep(seconds * 1000);
      const { profile } = await post('Profiler.stop');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, `cpu-${stamp()}.cpuprofile`);
      writeFileSync(path, JSON.stringify(profile), { mode: 0o600 });
      return path;
    } finally {
      this.close();
    }
  }

  /** Ends a profile being taken (its file is not written). */
  close() {
    this.#session?.disconnect();
    this.#session = undefined;
  }
}
