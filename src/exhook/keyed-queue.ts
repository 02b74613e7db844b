/**
 * Calls to one ExHook server, queued per client. A client's calls go out in the order its hooks fired; one
 * at a time, like EMQX where the client's own process makes the call, except that consecutive *pipelined*
 * jobs (message.publish calls with a single target server) go out without waiting for each other's answers:
 * the channel applies their answers in order (mqtt/channel.ts), so only the round trips overlap. A job that
 * is not pipelined still waits for every earlier job of its key and holds back every later one. Different
 * clients' calls run side by side. The queues are bounded: a job that does not fit is refused (the caller
 * counts it as failed) instead of letting a slow server grow memory without limit.
 */

/** One queued call. */
export interface Job {
  /** Epoch ms after which the job is no longer worth sending (Infinity: no limit). */
  readonly notAfter: number;
  /** May run while the key's earlier pipelined jobs still wait for their answers. */
  readonly pipelined?: boolean;
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

/** One key's jobs: waiting[head..] wait; `running` have started and not settled. */
interface KeyState {
  waiting: Job[];
  head: number;
  running: number;
  /** The running job is not pipelined: nothing else of this key may start. */
  exclusive: boolean;
}

/** The per-client queues of one server. */
export class KeyedQueue {
  private readonly queues = new Map<string, KeyState>();
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
    let st = this.queues.get(key);
    if (st === undefined) {
      st = { waiting: [], head: 0, running: 0, exclusive: false };
      this.queues.set(key, st);
    } else if (st.waiting.length - st.head + st.running >= this.limits.perKey) return false;
    st.waiting.push(job);
    this.count++;
    this.pump(key, st);
    return true;
  }

  /** Abandons every waiting job and refuses new ones (running calls finish on their own). */
  close(): void {
    this.closed = true;
    for (const st of this.queues.values()) {
      const rest = st.waiting.slice(st.head);
      st.waiting = [];
      st.head = 0;
      for (const job of rest) {
        this.count--;
        job.abandon('closed');
      }
    }
  }

  /** Starts what may start now, in queue order. */
  private pump(key: string, st: KeyState): void {
    const q = st.waiting;
    while (st.head < q.length) {
      const job = q[st.head]!;
      if (job.notAfter <= Date.now()) {
        st.head++;
        this.count--;
        job.abandon('expired');
        continue;
      }
      if (st.running > 0 && (st.exclusive || job.pipelined !== true)) break;
      st.head++;
      st.running++;
      st.exclusive = job.pipelined !== true;
      const done = () => {
        st.running--;
        this.count--;
        this.pump(key, st);
      };
      // run() is not meant to throw or reject; if it does, the key's queue must still move on.
      let running: Promise<void>;
      try {
        running = job.run();
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(done, done);
    }
    if (st.head === q.length) {
      // Everything started: drop the started jobs (one array per key, not a shift per job).
      q.length = 0;
      st.head = 0;
      if (st.running === 0 && this.queues.get(key) === st) this.queues.delete(key);
    }
  }
}
