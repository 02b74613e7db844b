/**
 * Session takeover between nodes, over rpc (EMQX `takeover_session` begin/end, `kick_session`):
 *
 * - `reg_takeover_begin` (on the owner): closes the client's connection (DISCONNECT 0x8E), keeps the
 *   session subscribed so deliveries queue in it, and answers with the session's state (subscriptions with
 *   options, inflight QoS 1/2 messages, queue, QoS 2 ids awaiting release, packet ids).
 * - the new node rebuilds the session from that state (its subscriptions route here from now on), then
 * - `reg_takeover_end` (on the owner): answers with what queued since begin and forgets the session, so
 *   nothing that arrived during the handover is lost.
 * - `reg_discard`: clean start; the owner closes the client and ends the session.
 * - `reg_yield`: after a partition, the owner's entry lost to ours; the peer drops its copy.
 */
import type { SessionRecord } from '../broker/client-registry.js';
import type { ClaimRequest } from '../broker/cluster-seam.js';
import {
  loadMessage,
  offlineClientInfo,
  restoreSession,
  type SavedMessage,
  type SavedSession,
  saveMessage,
  sessionState,
} from '../broker/session-store.js';
import type { SubOpts } from '../broker/types.js';
import { logger } from '../log.js';
import { type RegistryCore, type RegistryEntry, registryKey } from './registry-entry.js';
import type { ClusterContext } from './types.js';

interface Target {
  namespace: string;
  clientid: string;
}

type BeginAnswer = { found: false } | { found: true; state: string };

interface EndAnswer {
  queue: Array<{ opts: SubOpts; retained: boolean; msg: SavedMessage }>;
}

function targetOf(body: unknown): Target {
  const t = body as Partial<Target> | undefined;
  if (typeof t?.namespace !== 'string' || typeof t.clientid !== 'string')
    throw new Error('expected {namespace, clientid}');
  return { namespace: t.namespace, clientid: t.clientid };
}

export class TakeoverService {
  /** Sessions handed over whose `end` has not come yet; dropped if the taker never finishes. */
  private readonly handingOver = new Map<SessionRecord, NodeJS.Timeout>();
  private readonly offs: Array<() => void>;

  constructor(
    private readonly ctx: ClusterContext,
    private readonly registry: RegistryCore,
  ) {
    const bus = ctx.bus;
    this.offs = [
      bus.handle('reg_takeover_begin', (b) => this.begin(targetOf(b))),
      bus.handle('reg_takeover_end', (b) => this.end(targetOf(b))),
      bus.handle('reg_discard', (b) => this.discard(targetOf(b))),
      bus.handle('reg_yield', (b) =>
        this.yieldCopy(targetOf(b), Number((b as { connected_at?: unknown }).connected_at ?? 0)),
      ),
    ];
  }

  stop(): void {
    for (const off of this.offs) off();
    for (const t of this.handingOver.values()) clearTimeout(t);
    this.handingOver.clear();
  }

  private get broker() {
    return this.ctx.host.broker;
  }

  private get rpcTimeout(): number {
    return this.ctx.bus.config.nats.request_timeout;
  }

  // ---------------------------------------------------------------- the new owner's side

  /**
   * Takes the session of `req` over from `node` and puts it into the local registry (offline, for the
   * openSession that follows). False when the node has no such session.
   */
  async takeOverFrom(node: string, req: ClaimRequest): Promise<boolean> {
    const target: Target = { namespace: req.namespace, clientid: req.clientid };
    const begun = (await this.ctx.bus.call(
      node,
      'reg_takeover_begin',
      target,
      this.rpcTimeout,
    )) as BeginAnswer;
    if (!begun.found) return false;
    const saved = JSON.parse(begun.state) as SavedSession;
    const record = restoreSession(this.broker, req.namespace, saved, req.settings, (ci) =>
      offlineClientInfo(this.ctx.host.name, ci),
    );
    if (record === undefined) return false;
    this.broker.armExpiry(record);
    // Our subscriptions reach the bus before the owner lets go of its own.
    await this.ctx.bus.data.flush();
    try {
      const ended = (await this.ctx.bus.call(node, 'reg_takeover_end', target, this.rpcTimeout)) as EndAnswer;
      for (const q of ended.queue) record.session.mqueue.push(loadMessage(q.msg), q.opts, q.retained);
    } catch (err) {
      logger.warn(
        { err: (err as Error).message, clientid: req.clientid, node },
        'cluster takeover: the previous owner did not finish the handover; messages it queued meanwhile are lost',
      );
    }
    return true;
  }

  /** Clean start: the session on `node` ends there. False when it had none. */
  async discardOn(node: string, req: ClaimRequest): Promise<boolean> {
    const target: Target = { namespace: req.namespace, clientid: req.clientid };
    return (await this.ctx.bus.call(node, 'reg_discard', target, this.rpcTimeout)) === true;
  }

  /** After a partition: `node` drops its copy of a session whose entry is ours now. */
  async yieldOn(node: string, entry: RegistryEntry): Promise<void> {
    await this.ctx.bus.call(
      node,
      'reg_yield',
      { namespace: entry.namespace, clientid: entry.clientid, connected_at: entry.connected_at },
      this.rpcTimeout,
    );
  }

  // ---------------------------------------------------------------- the owner's side

  private begin(t: Target): BeginAnswer {
    const record = this.broker.registry.get(t.namespace, t.clientid);
    if (record === undefined || this.handingOver.has(record)) return { found: false };
    this.broker.takeOver(record);
    const state = sessionState(record, Date.now(), false);
    // Inflight and queued messages go with the state; what arrives from now on is returned by `end`.
    const s = record.session;
    s.forgetDeliveryState();
    s.mqueue.clear();
    const timer = setTimeout(() => {
      this.handingOver.delete(record);
      logger.warn(
        { clientid: t.clientid },
        'cluster takeover: the taking node never finished; session dropped',
      );
      this.broker.forget(record);
    }, this.rpcTimeout * 3);
    timer.unref();
    this.handingOver.set(record, timer);
    return { found: true, state };
  }

  private end(t: Target): EndAnswer {
    const record = this.broker.registry.get(t.namespace, t.clientid);
    if (record === undefined) return { queue: [] };
    clearTimeout(this.handingOver.get(record));
    this.handingOver.delete(record);
    const queue = record.session.mqueue
      .toArray()
      .map((d) => ({ opts: d.opts, retained: d.retained, msg: saveMessage(d.msg) }));
    this.broker.forget(record);
    this.registry.disown(registryKey(t.namespace, t.clientid));
    return { queue };
  }

  private discard(t: Target): boolean {
    const record = this.broker.registry.get(t.namespace, t.clientid);
    if (record === undefined) return false;
    this.broker.discardRecord(record);
    return true;
  }

  private yieldCopy(t: Target, theirs: number): boolean {
    const record = this.broker.registry.get(t.namespace, t.clientid);
    if (record === undefined) return false;
    // Our connection is the newer one after all: keep it (our own re-assert claims the entry back).
    if ((record.channel?.connInfo.connected_at ?? 0) > theirs) return false;
    logger.warn(
      { clientid: t.clientid, namespace: t.namespace },
      'cluster registry: another node re-asserted this client after a partition; closing the local copy (session taken over)',
    );
    record.channel?.kick('takenover');
    this.broker.forget(record);
    this.registry.disown(registryKey(t.namespace, t.clientid));
    return true;
  }
}
