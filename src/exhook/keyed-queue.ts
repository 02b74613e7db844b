/**
 * Calls to one ExHook server, queued per client. A client's calls go out one at a time, in the order its
 * hooks fired, like EMQX where the client's own process makes the call; different clients' calls run side
 * by side. The queues are bounded: a job that does not fit is refused (the caller counts it as failed)
 * instead of letting a slow server grow memory without limit.
 */

/** One queued call. */
export interface Job {
  /** Epoch ms after which the job is no longer worth sending (Infinity: no limit). */
  readonly notAfter: number;
  /** Sends the call; the promise settles when it is answered, failed or timed out, and never rejects. */
  run(): Promise<void>;
  /** Called instead of run when the job expired in the queue or the queue was closed. */
  abandon(reason: 'expired' | 'closed'): void;
}

/** Bounds of a queue. */
export interface QueueLimits {
  /** Jobs waiting or running for one key. */
  perKey: number;
  /** Jobs waiting or running for every key together. */
  total: number;
}

/** Per client 1000 calls, per server 100 000: far above a healthy server's backlog. */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { perKey: 1000, total: 100_000 };

/** The per-client queues of one server. */
export class KeyedQueue {
  /** Per key: the running job first, then the waiting ones. */
  private readonly queues = new Map<string, Job[]>();
  private count = 0;
  private closed = false;

  constructor(private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS) {}

  /** Jobs waiting or running. */
  get size(): number {
    return this.count;
  }

  /** Queues a job behind the key's earlier ones; false (job not taken) when a bound is reached or closed. */
  push(key: string, job: Job): boolean {
    if (this.closed || this.count >= this.limits.total) return false;
    const q = this.queues.get(key);
    if (q === undefined) {
      const fresh = [job];
      this.queues.set(key, fresh);
      this.count++;
      this.pump(key, fresh);
      return true;
    }
    if (q.length >= this.limits.perKey) return false;
    q.push(job);
    this.count++;
    return true;
  }

  /** Abandons every waiting job and refuses new ones (running calls finish on their own). */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) {
      // The running job (index 0) settles by itself; the rest never start.
      for (const job of q.splice(1)) {
        this.count--;
        job.abandon('closed');
      }
    }
  }

  private pump(key: string, q: Job[]): void {
    while (q.length > 0) {
      const job = q[0]!;
      if (job.notAfter <= Date.now()) {
        q.shift();
        this.count--;
        job.abandon('expired');
        continue;
      }
      const next = () => {
        q.shift();
        this.count--;
        this.pump(key, q);
      };
      // run() is not meant to reject; if it does, the key's queue must still move on.
      job.run().then(next, next);
      return;
    }
    this.queues.delete(key);
  }
}
