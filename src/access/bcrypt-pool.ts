/**
 * bcrypt off the event loop. bcryptjs' "async" API is no help: it yields only every 100 ms of work, so a
 * check at EMQX's default cost (10, ~73 ms here) runs as one block during which no other client is served
 * (a PINGREQ waited up to the whole batch of logins, 2026-12-04). Checks run instead on worker threads
 * started on first use, one job per worker at a time, the rest queued in arrival order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What a bcrypt worker is asked to do. */
type JobBody =
  | { op: 'compare'; password: string; hash: string }
  | { op: 'hash'; password: string; rounds: number };

/** A job for a bcrypt worker. */
export type BcryptJob = JobBody & { id: number };

/** A worker's answer: a comparison's verdict, a new hash, or why hashing failed. */
export type BcryptReply = { id: number; value: boolean | string } | { id: number; error: string };

type Pending = { job: BcryptJob; resolve(v: boolean | string): void; reject(err: Error): void };

/**
 * Workers: one per core the process may use, less one left to the event loop, at least one, at most four
 * (bcrypt is slow by design; more threads than cores would only share them).
 */
const POOL_SIZE = Math.max(1, Math.min(4, availableParallelism() - 1));

class Slot {
  private worker: Worker | undefined;
  current: Pending | undefined;

  constructor(private readonly done: (slot: Slot) => void) {}

  start(p: Pending): void {
    this.current = p;
    const w = this.ensureWorker();
    w.ref();
    w.postMessage(p.job);
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    w.on('message', (r: BcryptReply) => {
      const p = this.current;
      this.current = undefined;
      // Idle workers must not keep the process alive.
      w.unref();
      if (p !== undefined && p.job.id === r.id) {
        if ('error' in r) p.reject(new Error(r.error));
        else p.resolve(r.value);
      }
      this.done(this);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      const p = this.current;
      this.current = undefined;
      p?.reject(err);
      this.done(this);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`bcrypt worker exited (code ${code})`)));
    this.worker = w;
    return w;
  }
}

class BcryptPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;

  run(job: JobBody): Promise<boolean | string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.current === undefined);
      if (slot === undefined && this.slots.length < POOL_SIZE) {
        slot = new Slot(() => this.pump());
        this.slots.push(slot);
      }
      if (slot === undefined) return;
      slot.start(this.queue.shift()!);
    }
  }
}

const pool = new BcryptPool();

/** Whether `password` matches the bcrypt `hash` (false for a malformed hash). */
export function bcryptCompare(password: string, hash: string): Promise<boolean> {
  return pool.run({ op: 'compare', password, hash }).then((v) => v === true);
}

/** A new bcrypt hash of `password` at cost `rounds`, with a fresh salt. */
export function bcryptHash(password: string, rounds: number): Promise<string> {
  return pool.run({ op: 'hash', password, rounds }).then(String);
}
