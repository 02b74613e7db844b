/**
 * Routes across nodes: the route table is NATS subject interest (cluster.md §4.4).
 *
 * - A node subscribes on its `data` connection to a filter's subjects when the filter gets its first local
 *   subscriber, and unsubscribes when the last one leaves (reference-counted, like EMQX's routes). A new
 *   route is flushed to the server before the client hears SUBACK (`settled`).
 * - A message published on this node is delivered to local subscribers in-process, then published once to
 *   its topic's subject. nats-server sends one copy to each node per matching filter subscription (EMQX
 *   forwards one per matching (filter, node)); the receiving callback knows its filter and delivers to that
 *   filter's local subscribers only. `data` has no echo, so the publisher never gets its own copy, and one
 *   connection per node keeps each publisher's order.
 * - Topics too long for a subject go to the `long` root, which every node subscribes to and matches locally.
 * - Shared groups: the publisher picks one node from the shared directory and sends the message to that
 *   node's inbox subject (or delivers it here), so exactly one member gets it cluster-wide.
 *
 * Delivery on the bus is at most once, like EMQX's gen_rpc casts: what is in flight when a node dies is lost.
 * nats.js re-sends every subscription after a reconnect, so routes come back with the bus by themselves.
 *
 * What travels is the sender's name and the message, encoded once per publish (envelope.ts).
 */
import type { KV } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Broker } from '../broker/broker.js';
import { FROM_NODE_HEADER, type RouteSeam } from '../broker/cluster-seam.js';
import type { Message } from '../broker/message.js';
import { logger } from '../log.js';
import { decodeForwarded, decodeShared, encodeForwarded, encodeShared, senderHeader } from './envelope.js';
import { type GroupRoute, SharedDirectory } from './shared-directory.js';
import { encodeLevel, filterSubjects, type SubjectRoots, topicSubject } from './subject.js';
import type { ClusterContext, ClusterPart } from './types.js';

interface Route {
  /** Local subscriptions to the filter, plus SUBSCRIBEs holding it until their SUBACK. */
  count: number;
  subs: Subscription[];
}

/** Longest wait for the bus before a SUBACK goes out anyway (the bus may be away: serve locally). */
const SETTLE_TIMEOUT_MS = 2000;
/** Topics whose subject is kept (see subjectOf). */
const SUBJECT_CACHE_SIZE = 10_000;
/** How long a node stays down before its shared-group directory keys are deleted. */
const PURGE_AFTER_MS = 60_000;
/** At most one warning per this many ms for messages the bus refused or could not read. */
const WARN_EVERY_MS = 10_000;

export class RoutesPart implements ClusterPart, RouteSeam {
  readonly name = 'routes';
  private ctx: ClusterContext | undefined;
  private data: NatsConnection | undefined;
  private roots: SubjectRoots | undefined;
  private broker: Broker | undefined;
  private readonly routes = new Map<string, Route>();
  /** Subscriptions made since the last flush. */
  private unflushed = false;
  private fixedSubs: Subscription[] = [];
  private directory: SharedDirectory | undefined;
  /** This node's name as the envelope's first bytes. */
  private header: Buffer = Buffer.alloc(0);
  private readonly inboxes = new Map<string, string>();
  private offBus: (() => void) | undefined;
  private offMembership: (() => void) | undefined;
  private matches: GroupRoute[] = [];
  private readonly purgeTimers = new Set<NodeJS.Timeout>();
  private readonly subjects = new Map<string, string>();
  private lastWarn = 0;

  async start(ctx: ClusterContext): Promise<void> {
    this.ctx = ctx;
    const { bus, host, membership } = ctx;
    this.header = senderHeader(host.name);
    this.data = bus.data;
    this.roots = bus.roots;
    this.broker = host.broker;
    const mqtt = host.config.mqtt;
    this.directory = new SharedDirectory(host.name, (n) => membership.isAlive(n), {
      strategy: host.broker.settings.sharedStrategy,
      initialSticky: mqtt.shared_subscription_initial_sticky_pick,
    });
    const kv: KV = await bus.kv('shared');
    await this.directory.start(kv);
    this.fixedSubs = [
      this.data.subscribe(bus.roots.long, { callback: (err, m) => this.onForwarded(err, m, undefined) }),
      this.data.subscribe(this.inbox(host.name), { callback: (err, m) => this.onShared(err, m) }),
    ];
    await this.data.flush();
    this.offBus = bus.onEvent((e) => {
      if (e === 'reconnected') this.directory?.reassert();
    });
    this.offMembership = membership.on((e) => {
      if (e.type === 'down') this.purgeLater(e.node);
    });
    host.broker.cluster = { ...host.broker.cluster, routes: this };
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    if (broker?.cluster?.routes === this) broker.cluster = { ...broker.cluster, routes: undefined };
    this.offBus?.();
    this.offMembership?.();
    for (const t of this.purgeTimers) clearTimeout(t);
    this.purgeTimers.clear();
    for (const s of this.fixedSubs) s.unsubscribe();
    for (const r of this.routes.values()) for (const s of r.subs) s.unsubscribe();
    this.routes.clear();
    const pending = this.directory?.settled();
    if (pending !== undefined) await withTimeout(pending);
    this.directory?.stop();
  }

  // ---------------------------------------------------------------- the seam

  added(filter: string, group: string | undefined): void {
    if (group !== undefined) {
      this.directory?.memberAdded(group, filter);
      return;
    }
    const r = this.routes.get(filter);
    if (r !== undefined) {
      r.count++;
      return;
    }
    const data = this.data;
    if (data === undefined || this.roots === undefined) return;
    const subs: Subscription[] = [];
    for (const subject of filterSubjects(this.roots, filter)) {
      try {
        subs.push(data.subscribe(subject, { callback: (err, m) => this.onForwarded(err, m, filter) }));
      } catch (err) {
        // Only a closed connection refuses a subscription: the node is stopping.
        logger.warn({ err: (err as Error).message, filter }, 'cluster: route not subscribed');
      }
    }
    this.routes.set(filter, { count: 1, subs });
    this.unflushed = true;
  }

  removed(filter: string, group: string | undefined): void {
    if (group !== undefined) {
      this.directory?.memberRemoved(group, filter);
      return;
    }
    const r = this.routes.get(filter);
    if (r === undefined || --r.count > 0) return;
    this.routes.delete(filter);
    for (const s of r.subs) s.unsubscribe();
  }

  settled(): Promise<void> | undefined {
    const shared = this.directory?.settled();
    if (!this.unflushed) return shared === undefined ? undefined : withTimeout(shared);
    this.unflushed = false;
    const flushed = this.data!.flush();
    return withTimeout(shared === undefined ? flushed : Promise.all([flushed, shared]));
  }

  forward(msg: Message): number {
    const data = this.data;
    if (data === undefined) return 0;
    let body: Buffer;
    try {
      body = encodeForwarded(this.header, msg);
    } catch (err) {
      this.warn(err, msg.topic, 'cluster: message not forwarded to other nodes');
      return 0;
    }
    let n = 0;
    try {
      data.publish(this.subjectOf(msg.topic), body);
      this.broker!.metrics.c['messages.forward']++;
      n = 1;
    } catch (err) {
      // Larger than the server's max_payload, or the connection is closing.
      this.warn(err, msg.topic, 'cluster: message not forwarded to other nodes');
    }
    const directory = this.directory!;
    if (!directory.empty) n += this.forwardShared(msg, body);
    return n;
  }

  redispatch(group: string, filter: string, msg: Message): boolean {
    const r = this.directory?.get(group, filter);
    if (r === undefined) return false;
    const node = this.directory!.pick(r, msg, true);
    if (node === undefined) return false;
    return this.sendShared(node, r, encodeForwarded(this.header, msg));
  }

  // ---------------------------------------------------------------- shared groups

  /**
   * A node that stays down for PURGE_AFTER_MS loses its directory keys; the first live node by name
   * deletes them for everyone. A node only stalled (counted down, then up again) keeps them.
   */
  private purgeLater(node: string): void {
    const timer = setTimeout(() => {
      this.purgeTimers.delete(timer);
      const membership = this.ctx?.membership;
      if (membership === undefined || membership.isAlive(node)) return;
      if (membership.alive()[0] === this.ctx!.host.name) this.directory?.purgeNode(node);
    }, PURGE_AFTER_MS);
    timer.unref();
    this.purgeTimers.add(timer);
  }

  /** One member per matching group cluster-wide: here, or on the node the directory picks. */
  private forwardShared(msg: Message, body: Buffer): number {
    const matches = this.matches;
    matches.length = 0;
    this.directory!.matching(msg.topic, matches);
    let n = 0;
    const self = this.ctx!.host.name;
    for (const r of matches) {
      const node = this.directory!.pick(r, msg);
      if (node === undefined) continue;
      if (node === self) n += this.broker!.dispatchGroup(r.group, r.filter, msg);
      else if (this.sendShared(node, r, body)) n++;
    }
    matches.length = 0;
    return n;
  }

  private sendShared(node: string, r: GroupRoute, body: Buffer): boolean {
    try {
      this.data!.publish(this.inbox(node), encodeShared(this.header, body, r.group, r.filter));
      this.broker!.metrics.c['messages.forward']++;
      return true;
    } catch (err) {
      this.warn(err, r.filter, 'cluster: shared message not sent to its node');
      return false;
    }
  }

  /**
   * The subject of a topic, from a bounded cache: building it costs ~0.55 µs per publish (a regex test and a
   * string per level), a cache hit ~0.01 µs (measured 2026-12-04, 100 topics). Publishers usually repeat
   * their topics; past the bound the cache starts again rather than tracking recency.
   */
  private subjectOf(topic: string): string {
    let s = this.subjects.get(topic);
    if (s === undefined) {
      s = topicSubject(this.roots!, topic);
      if (this.subjects.size >= SUBJECT_CACHE_SIZE) this.subjects.clear();
      this.subjects.set(topic, s);
    }
    return s;
  }

  private inbox(node: string): string {
    let s = this.inboxes.get(node);
    if (s === undefined) {
      s = this.ctx!.bus.sub('sh', encodeLevel(node));
      this.inboxes.set(node, s);
    }
    return s;
  }

  // ---------------------------------------------------------------- receiving

  private onForwarded(err: Error | null, m: Msg, filter: string | undefined): void {
    if (err !== null) return;
    const f = decodeForwarded(m.data);
    if (f instanceof Error) {
      this.warn(f, m.subject, 'cluster: unreadable forwarded message dropped');
      return;
    }
    f.msg.headers[FROM_NODE_HEADER] = f.from;
    this.broker!.dispatchForwarded(f.msg, filter);
  }

  private onShared(err: Error | null, m: Msg): void {
    if (err !== null) return;
    const c = decodeShared(m.data);
    if (c instanceof Error) {
      this.warn(c, m.subject, 'cluster: unreadable shared message dropped');
      return;
    }
    c.msg.headers[FROM_NODE_HEADER] = c.from;
    this.broker!.dispatchGroup(c.group, c.filter, c.msg);
  }

  private warn(err: unknown, where: string, text: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    logger.warn({ err: (err as Error).message, topic: where }, text);
  }
}

function withTimeout(p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SETTLE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
