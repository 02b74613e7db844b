/**
 * JetStream writes on the lean path (cluster.md §5.4): a core publish whose reply goes to one shared
 * inbox subscription, matched to its caller by a number in the reply subject. nats.js's `js.publish`
 * makes a request (inbox, timer, promise chain) per message, about 35 µs of CPU; this costs a map entry
 * and one promise, and a single timer sweeps the writes whose acknowledgement never came.
 */
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

interface Waiting {
  resolve(seq: number): void;
  reject(err: Error): void;
  sentAt: number;
}

/** What JetStream answers a publish with. */
interface PubAckBody {
  seq?: number;
  error?: { code?: number; description?: string };
}

const decoder = new TextDecoder();

export class JetStreamAcks {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err === null) this.answered(msg);
      },
    });
    this.sweep = setInterval(() => this.expire(), Math.max(50, Math.min(1000, timeoutMs / 2)));
    this.sweep.unref();
  }

  /** Writes one message to the stream that owns `subject`; resolves with its stream sequence. */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<number> {
    const id = ++this.next;
    return new Promise<number>((resolve, reject) => {
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, headers });
      } catch (err) {
        reject(err as Error);
        return;
      }
      this.waiting.set(id, { resolve, reject, sentAt: Date.now() });
    });
  }

  /** Fails every write still waiting and stops listening. */
  stop(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    for (const w of this.waiting.values())
      w.reject(new Error('cluster bus closed before the write was acknowledged'));
    this.waiting.clear();
  }

  private answered(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inbox.length + 1));
    const w = this.waiting.get(id);
    if (w === undefined) return; // Too late: already failed by the sweep.
    this.waiting.delete(id);
    if (msg.headers?.hasError === true) {
      const code = msg.headers.code;
      w.reject(
        new Error(
          code === 503
            ? 'no JetStream server answered (503)'
            : `JetStream: ${code} ${msg.headers.description}`,
        ),
      );
      return;
    }
    let body: PubAckBody;
    try {
      body = JSON.parse(decoder.decode(msg.data)) as PubAckBody;
    } catch {
      w.reject(new Error('JetStream: unreadable acknowledgement'));
      return;
    }
    if (body.error !== undefined)
      w.reject(new Error(`JetStream: ${body.error.description ?? body.error.code}`));
    else if (typeof body.seq === 'number') w.resolve(body.seq);
    else w.reject(new Error('JetStream: acknowledgement without a sequence'));
  }

  private expire(): void {
    const limit = Date.now() - this.timeoutMs;
    for (const [id, w] of this.waiting) {
      if (w.sentAt > limit) break; // Ids are in send order, so the rest are younger.
      this.waiting.delete(id);
      w.reject(new Error(`JetStream did not acknowledge the write within ${this.timeoutMs} ms`));
    }
  }
}
