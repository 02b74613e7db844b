/**
 * Adoption of a dead node's clients. When membership reports a node down (and at start, for nodes that
 * died while the cluster was down), every survivor looks through the registry for entries owned by nodes
 * that are not alive. A rendezvous hash of the client id over the live nodes names one adopter per entry;
 * a compare-and-set on the entry makes the adoption atomic even when two nodes disagree for a moment.
 *
 * The adopter re-creates a persistent session offline from its record (subscriptions, so messages queue
 * for the client until it comes back to any node) and publishes the client's will, after its Will Delay
 * Interval when the session outlives it. Lost with the dead node: its in-memory inflight messages and
 * queues, and what was published to its clients before the node was found down.
 */
import { createHash } from 'node:crypto';
import type { KvEntry } from '@nats-io/kv';
import { logger } from '../log.js';
import { sessionSettings } from '../mqtt/handlers/connect.js';
import { listKeys } from './kv-keys.js';
import { type RegistryCore, type RegistryEntry, willMessage } from './registry-entry.js';
import type { ClusterContext } from './types.js';

/** The live node that adopts `clientid`: highest hash of (node, clientid), the same answer on every node. */
export function rendezvous(clientid: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const node of nodes) {
    const score = createHash('sha256').update(`${node}\u0000${clientid}`).digest().readBigUInt64BE(0);
    if (score > bestScore) {
      bestScore = score;
      best = node;
    }
  }
  return best;
}

export class Adoption {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private off: (() => void) | undefined;
  private stopped = false;
  /** No scan before this time (the bus was away: the node list is not trustworthy yet). */
  private pausedUntil = 0;
  /** The next scan takes every orphan, ignoring the rendezvous pick. */
  private everything = false;

  constructor(
    private readonly ctx: ClusterContext,
    private readonly registry: RegistryCore,
  ) {}

  /** Follows node downs; looks once at start (after the node list settled) for nodes that died earlier. */
  start(): void {
    this.off = this.ctx.membership.on((e) => {
      if (e.type === 'down') this.schedule(100);
    });
    // At start every orphan is taken, not only this node's rendezvous share: after a cluster-wide outage
    // the other nodes may not look again (they scan on a node going down, not on one coming up).
    this.everything = true;
    this.schedule(this.ctx.bus.config.heartbeat_interval * 2);
  }

  stop(): void {
    this.stopped = true;
    this.off?.();
    clearTimeout(this.timer);
  }

  /** Holds adoption while the bus is away (no argument) or for `ms` after it came back. */
  pause(ms?: number): void {
    this.pausedUntil = ms === undefined ? Number.POSITIVE_INFINITY : Date.now() + ms;
    if (ms !== undefined) this.schedule(ms);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.pausedUntil === Number.POSITIVE_INFINITY) return;
    ms = Math.max(ms, this.pausedUntil - Date.now());
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const all = this.everything;
      this.everything = false;
      this.running = this.scan(all)
        .then(() => undefined)
        .catch((err) => logger.warn({ err: (err as Error).message }, 'cluster adoption: scan failed'))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule(100);
          }
        });
    }, ms);
    this.timer.unref();
  }

  /** One pass over the registry: adopts the orphaned entries this node is the rendezvous pick for (or all). */
  async scan(all = false): Promise<number> {
    const kv = this.registry.kv;
    const self = this.ctx.host.name;
    const alive = this.ctx.membership.alive();
    const live = new Set(alive);
    const broker = this.ctx.host.broker;
    const keys = await listKeys(kv);
    let adopted = 0;
    for (const key of keys) {
      if (this.stopped) break;
      const e = await kv.get(key);
      if (e === null || e.operation !== 'PUT') continue;
      const v = e.json<RegistryEntry>();
      const orphan =
        !live.has(v.node) ||
        (v.node === self &&
          v.incarnation !== this.registry.incarnation &&
          broker.registry.get(v.namespace, v.clientid) === undefined);
      if (!orphan || (!all && rendezvous(v.clientid, alive) !== self)) continue;
      if (await this.registry.serial(key, () => this.adopt(key, e, v))) adopted++;
    }
    if (adopted > 0) logger.info({ adopted }, 'cluster adoption: took over clients of nodes that are down');
    return adopted;
  }

  private async adopt(key: string, e: KvEntry, v: RegistryEntry): Promise<boolean> {
    const broker = this.ctx.host.broker;
    const self = this.ctx.host.name;
    const rev = await this.registry.write(
      key,
      {
        ...v,
        node: self,
        incarnation: this.registry.incarnation,
        state: 'offline',
        claimed_at: Date.now(),
        adopted_from: v.node,
        will: undefined,
        from: undefined,
      },
      e.revision,
    );
    if (rev === undefined) return false; // another survivor, or the client itself, was first
    let record = broker.registry.get(v.namespace, v.clientid);
    if (record === undefined) {
      const p = await this.registry.records.read(key);
      if (p !== undefined) {
        record = this.registry.install(p, sessionSettings(this.ctx.host.config.mqtt, 5));
        if (record !== undefined)
          await this.registry.records.write(key, { ...p, node: self, updated_at: Date.now() });
      }
    }
    if (record === undefined) {
      // Nothing outlives the client: its entry goes (the will still goes out below).
      try {
        await this.registry.kv.delete(key, { previousSeq: rev });
      } catch {
        // claimed meanwhile by a reconnecting client
      }
      this.registry.disown(key);
      await this.registry.records.remove(key, true);
    }
    logger.info(
      { clientid: v.clientid, namespace: v.namespace, from: v.node, session: record !== undefined },
      'cluster adoption: adopted a client of a node that is down',
    );
    const will = v.will;
    if (will !== undefined) {
      const publish = (): void => void broker.publish(willMessage(will));
      if (record !== undefined && will.delay > 0) {
        const delay = Math.min(will.delay, record.session.expiryInterval);
        broker.scheduleWill(v.namespace, v.clientid, delay * 1000, publish);
      } else publish();
    }
    return true;
  }
}
