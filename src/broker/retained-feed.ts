/**
 * Retained flow control: a subscription may match far more retained messages than a session's queue
 * holds. Instead of offering them all at once (the queue's drop policy would discard the overflow), they
 * are offered in batches that fit, and the next batch follows each time the session's queue drains.
 */
import type { Message } from './message.js';
import type { Session } from './session.js';
import type { SubOpts } from './types.js';

interface Feed {
  msgs: Message[];
  next: number;
  opts: SubOpts;
  /** Most messages offered per round; 0 = as many as the queue takes. */
  batch: number;
}

/** Feeds for each session with retained messages still to offer (sessions without one have no entry). */
const feeds = new WeakMap<Session, Feed[]>();

/**
 * Offers `msgs` (oldest first) to `session` as retained deliveries, never more than its queue has room
 * for; `batch` > 0 bounds each round further (retainer.flow_control.batch_deliver_number).
 */
export function feedRetained(session: Session, msgs: Message[], opts: SubOpts, batch: number): void {
  let list = feeds.get(session);
  if (list === undefined) {
    list = [];
    feeds.set(session, list);
  }
  list.push({ msgs, next: 0, opts, batch });
  session.refill = () => pump(session);
  pump(session);
}

/** Offers the next batch of every pending feed of a session, in subscription order. */
function pump(session: Session): void {
  const list = feeds.get(session);
  if (list === undefined) {
    session.refill = undefined;
    return;
  }
  while (list.length > 0) {
    const f = list[0]!;
    const end = f.batch > 0 ? Math.min(f.msgs.length, f.next + f.batch) : f.msgs.length;
    while (f.next < end && session.spareQueue() > 0) {
      session.deliver(f.msgs[f.next]!, f.opts, true);
      f.next++;
    }
    if (f.next < f.msgs.length) return;
    list.shift();
  }
  feeds.delete(session);
  session.refill = undefined;
}
