/**
 * The broker: routes messages to sessions and manages session lifecycles. It never touches sockets or
 * frames; channels of every protocol call it with ClientInfo, Messages and SubOpts.
 */
import { logger } from '../log.js';
import { ClientRegistry, type KickReason, type LiveChannel, SessionRecord } from './client-registry.js';
import type { BrokerCluster } from './cluster-seam.js';
import type { Hooks } from './hooks.js';
import { type Message, ONE_DELIVERY } from './message.js';
import type { Metrics, StatName } from './metrics.js';
import { type RouteEntry, Router } from './router.js';
import { Session, type SessionJournal, type SessionSettings } from './session.js';
import type { SharedGroup, SharedStrategy } from './shared-sub.js';
import { withIsNew } from './sub-opts.js';
import { parseSubscriptionTopic } from './topic.js';
import type { ClientInfo, SubOpts } from './types.js';

export interface BrokerSettings {
  node: string;
  sharedStrategy: SharedStrategy;
  sharedInitialSticky: SharedStrategy;
  /** Never deliver a message back to its publisher (mqtt.ignore_loop_deliver). */
  ignoreLoopDeliver: boolean;
}

/**
 * Who listens on session.subscribed: nobody, only the retainer (which only reads the options it gets), or
 * others too (which get options of their own to change).
 */
export type SubscribedListeners = 'none' | 'retainer' | 'others';

export interface OpenSessionParams {
  namespace: string;
  clientid: string;
  cleanStart: boolean;
  /** Seconds the session outlives the connection. */
  expiryInterval: number;
  channel: LiveChannel;
  clientInfo: ClientInfo;
  settings: SessionSettings;
}

export interface OpenedSession {
  session: Session;
  /** True when an existing session was resumed (CONNACK Session Present). */
  present: boolean;
}

/** message.publish has no arguments besides the message; one shared empty list avoids an allocation per publish. */
const NO_ARGS: [] = [];

/** Where session lifecycles and state changes go when durability is on (see durability.ts). */
export interface BrokerJournal extends SessionJournal {
  /** A session record entered the registry: opened, or restored from the store (`stored`). */
  opened(record: SessionRecord, stored?: boolean): void;
  /** A session ended for good: its stored state goes too. */
  ended(record: SessionRecord): void;
}

/** The gauges that follow the route table, in refreshRouteStats' order. */
const ROUTE_STATS: readonly StatName[] = [
  'topics',
  'subscriptions',
  'suboptions',
  'subscribers',
  'subscriptions.shared',
];

/** A route with one plain subscriber and no shared group: a message matching only it is delivered once at most. */
function isSoleRoute(e: RouteEntry): boolean {
  return e.one !== undefined && (e.groups === undefined || e.groups.size === 0);
}

/** Metrics.setStat on a gauge object already looked up. */
function setGauge(g: { count: number; max: number }, value: number): void {
  g.count = value;
  if (value > g.max) g.max = value;
}

/** Expiry value meaning "never" (MQTT 5 0xFFFFFFFF). */
export const NEVER_EXPIRE = 0xffffffff;

export class Broker {
  readonly router = new Router();
  readonly registry = new ClientRegistry();
  private dispatchDepth = 0;
  private readonly matchBuffer: RouteEntry[] = [];
  private readonly probeBuffer: RouteEntry[] = [];
  /** The gauges of ROUTE_STATS, in that order (looked up on first use). */
  private routeGauges: Array<{ count: number; max: number }> | undefined;
  /** Set by the node when durability is on. */
  journal: BrokerJournal | undefined;
  /** Set by the cluster parts on a cluster node (cluster-seam.ts); undefined on a single node. */
  cluster: BrokerCluster | undefined;

  constructor(
    readonly settings: BrokerSettings,
    readonly hooks: Hooks,
    readonly metrics: Metrics,
  ) {}

  // ---------------------------------------------------------------- publish

  /**
   * Publishes a message: runs the message.publish fold, then routes. Returns how many subscriptions got it,
   * synchronously unless an async message.publish callback is registered. A message the fold disallows
   * yields -1.
   */
  publish(msg: Message): number | Promise<number> {
    if (!msg.flags.sys) this.metrics.c['messages.publish']++;
    if (!this.hooks.has('message.publish')) return this.dispatch(msg);
    const folded = this.hooks.runFold('message.publish', NO_ARGS, msg);
    if (folded instanceof Promise) return folded.then((m) => this.afterFold(m));
    return this.afterFold(folded);
  }

  /**
   * publish() in two steps, for a channel that folds several publishes at once and routes them in order:
   * the message.publish fold (synchronous unless an async callback is registered), then routeFolded.
   */
  foldPublish(msg: Message): Message | Promise<Message> {
    if (!msg.flags.sys) this.metrics.c['messages.publish']++;
    if (!this.hooks.has('message.publish')) return msg;
    return this.hooks.runFold('message.publish', NO_ARGS, msg);
  }

  /** Routes a message foldPublish returned; -1 when the fold disallowed it. */
  routeFolded(msg: Message): number {
    return this.afterFold(msg);
  }

  private afterFold(msg: Message): number {
    if (msg.headers.allow_publish === false) {
      this.dropped(msg, 'disallowed');
      return -1;
    }
    return this.dispatch(msg);
  }

  /** Routes a message that already went through message.publish. */
  dispatch(msg: Message): number {
    // Deliveries may publish in turn (hooks, $SYS events); nested calls get their own buffer.
    // The buffer is left empty by the dispatch before (finally below): `length = 0` is a V8 runtime call
    // (Runtime_StoreCallbackProperty → JSArray::SetLength, ~100 ns) even on an empty array.
    const entries = this.dispatchDepth === 0 ? this.matchBuffer : [];
    this.dispatchDepth++;
    let n = 0;
    try {
      this.router.match(msg.topic, entries);
      // On a cluster node the routes part picks shared-group members cluster-wide (forward below).
      const routes = this.cluster?.routes;
      // One filter with one plain subscriber and no group: at most one delivery, so its frame is built for
      // it alone (ONE_DELIVERY), not cached, and written without the per-delivery copy that patches the
      // packet id into a shared frame (outgoing.ts). A retained message may reach later subscribers.
      if (
        entries.length === 1 &&
        routes === undefined &&
        msg.frameCache === undefined &&
        !msg.flags.retain &&
        isSoleRoute(entries[0]!)
      )
        msg.frameCache = ONE_DELIVERY;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        n += this.deliverPlain(e, msg);
        if (e.groups !== undefined && routes === undefined)
          for (const g of e.groups.values()) n += this.deliverToGroup(g, msg);
      }
      if (routes !== undefined) n += routes.forward(msg);
    } finally {
      this.dispatchDepth--;
      // Popped, not truncated with `length = 0`: pop stays in V8's fast builtin for the few entries a
      // message matches (~5 ns against ~100 ns; `length = 0` here and above were ~2.4 % of the broker's
      // user time per lone QoS 1 pub→sub message, perf 2026-12-05).
      if (this.dispatchDepth === 0) while (entries.length > 0) entries.pop();
    }
    if (n === 0) this.dropped(msg, 'no_subscribers');
    // One delivery, and a frame not built yet (it waits in a queue): nothing will reuse that frame. A retained
    // message may still go to later subscribers.
    else if (n === 1 && msg.frameCache === undefined && !msg.flags.retain) msg.frameCache = ONE_DELIVERY;
    return n;
  }

  /**
   * Delivers a message another node forwarded on one of this node's routes: to the plain subscribers of
   * `filter` only (the other node sends one copy per matching route, as EMQX forwards one per (filter,
   * node)), or, with no filter (a topic too long for a bus subject), to every matching filter's.
   */
  dispatchForwarded(msg: Message, filter?: string): number {
    let n = 0;
    if (filter !== undefined) {
      const e = this.router.lookup(filter);
      if (e !== undefined) n = this.deliverPlain(e, msg);
    } else {
      const entries: RouteEntry[] = [];
      this.router.match(msg.topic, entries);
      for (const e of entries) n += this.deliverPlain(e, msg);
    }
    if (n === 0) this.dropped(msg, 'no_subscribers');
    return n;
  }

  /** Delivers to one member of a shared group on this node, picked with the configured strategy. */
  dispatchGroup(group: string, filter: string, msg: Message): number {
    const e = this.router.lookup(filter);
    const n = e === undefined ? 0 : this.dispatchShared(group, e, msg);
    // The member left (or its queue is full) since the publisher's node picked this one.
    if (n === 0) this.dropped(msg, 'no_subscribers');
    return n;
  }

  private deliverPlain(e: RouteEntry, msg: Message): number {
    const loop = this.settings.ignoreLoopDeliver;
    const one = e.one;
    if (one !== undefined)
      return (loop && msg.from === one.clientid) || !one.deliver(msg, e.oneOpts!) ? 0 : 1;
    const many = e.many;
    if (many === undefined) return 0;
    let n = 0;
    for (const [session, opts] of many) {
      if (loop && msg.from === session.clientid) continue;
      if (session.deliver(msg, opts)) n++;
    }
    return n;
  }

  private dispatchShared(group: string, entry: RouteEntry, msg: Message, exclude?: Session): number {
    const g = entry.groups?.get(group);
    return g === undefined ? 0 : this.deliverToGroup(g, msg, exclude);
  }

  /** One member of `g` gets `msg` (the group at hand: dispatch() does not look it up again by name). */
  private deliverToGroup(g: SharedGroup, msg: Message, exclude?: Session): number {
    const s = this.settings;
    // A member whose delivery fails (e.g. queue full) is skipped in favour of the next one.
    for (let tries = 0; tries < g.size; tries++) {
      const m = g.pick(msg, s.sharedStrategy, s.sharedInitialSticky, exclude);
      if (m === undefined) return 0;
      if (m.session.deliver(msg, m.opts)) return 1;
      if (g.size === 1) return 0;
    }
    return 0;
  }

  /**
   * Whether a non-retained message on `topic` could reach anyone: a subscription matches, or a
   * message.publish callback may act on it. The $SYS client events ask first, so nobody pays for building an event no one receives
   * (about 5 % of a CONNECT's broker CPU in S4, 2026-12-04). A cluster must answer for remote routes too.
   */
  mayDeliver(topic: string): boolean {
    // The retainer's callback, there on every node, only looks at retained messages, which these are not;
    // counting it made every CONNECT build and route a $SYS event nobody received (~6 % of its CPU,
    // 2026-12-04). On a cluster node a subscriber may live on another node: the local router cannot say no.
    if (this.hooks.hasBesides('message.publish', 'retainer') || this.cluster !== undefined) return true;
    const out = this.probeBuffer;
    this.router.match(topic, out);
    const any = out.length > 0;
    out.length = 0;
    return any;
  }

  private dropped(msg: Message, reason: string): void {
    // The broker's own $SYS messages often have no subscriber; counting them would drown real drops (as EMQX).
    if (msg.flags.sys) return;
    const c = this.metrics.c;
    c['messages.dropped']++;
    if (reason === 'no_subscribers') c['messages.dropped.no_subscribers']++;
    if (this.hooks.has('message.dropped')) {
      this.hooks.run('message.dropped', msg, { node: this.settings.node }, reason);
    }
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Subscribes a session to `topic` as the client wrote it (a `$share/g/f` or `$queue/f` topic becomes a
   * shared-group membership). Returns true when the subscription is new. Runs session.subscribed.
   */
  subscribe(session: Session, topic: string, opts: SubOpts): boolean {
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed === 'string') throw new Error(parsed);
    const isNew = this.addSubscription(
      session,
      topic,
      parsed.filter,
      parsed.group,
      opts,
      this.subscribedListeners(),
    );
    this.subscriptionsAdded(session);
    return isNew;
  }

  /**
   * Who listens on session.subscribed, for addSubscription: looked up once per SUBSCRIBE packet rather than
   * once per filter.
   */
  subscribedListeners(): SubscribedListeners {
    const hooks = this.hooks;
    if (!hooks.has('session.subscribed')) return 'none';
    return hooks.hasBesides('session.subscribed', 'retainer') ? 'others' : 'retainer';
  }

  /**
   * The part of subscribe done per filter: the SUBSCRIBE handler calls it for each filter of a packet,
   * then subscriptionsAdded once, rather than updating the five route gauges, touching the journal and
   * looking up the listeners per filter (measured with the handler's change: see subscribe.ts' Candidate).
   */
  addSubscription(
    session: Session,
    topic: string,
    filter: string,
    group: string | undefined,
    opts: SubOpts,
    listeners: SubscribedListeners,
  ): boolean {
    // Object.assign, not `{ ...opts, share }`: in Node 20's V8 a spread followed by a key the source lacks
    // takes a slow path, 2–7 µs against 0.1 µs (measured 2026-12-04); withIsNew does the same for is_new.
    const subOpts: SubOpts = group === undefined ? opts : Object.assign({}, opts, { share: group });
    const isNew = this.addSubscriptionOf(session, topic, filter, group, subOpts);
    if (listeners !== 'none') {
      // The retainer, there on every node, only reads the options: while it is the only listener they can
      // be a shared frozen object; any other listener (a plugin) gets its own copy, as always.
      const opts = withIsNew(subOpts, isNew, listeners === 'retainer');
      this.hooks.run('session.subscribed', session.clientInfo, topic, opts);
    }
    return isNew;
  }

  /** After one or more addSubscription calls for `session`: the route gauges and the session's journal. */
  subscriptionsAdded(session: Session): void {
    this.refreshRouteStats();
    session.touched();
  }

  /** Re-adds a saved subscription at boot (no hooks: nothing new happened). */
  restoreSubscription(session: Session, topic: string, opts: SubOpts): void {
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed === 'string') return;
    this.addSubscriptionOf(session, topic, parsed.filter, parsed.group, opts);
    this.refreshRouteStats();
  }

  /**
   * Adds `topic` to the session and its route; true when it is new. A plain subscription whose topic is its
   * route's filter is new to the session exactly when Router.add says it is new to the route table (both
   * are added and removed together), which spares the session a lookup (SubscriptionTable). A shared one
   * asks the session: `$share/$queue/f` and `$queue/f` are two topics of one route.
   */
  private addSubscriptionOf(
    session: Session,
    topic: string,
    filter: string,
    group: string | undefined,
    opts: SubOpts,
  ): boolean {
    const routeIsNew = this.router.add(filter, session, opts);
    if (routeIsNew) this.cluster?.routes?.added(filter, opts.share);
    return session.setSubscription(
      topic,
      opts,
      group === undefined && topic === filter ? routeIsNew : undefined,
    );
  }

  /** Removes a subscription; returns false when there was none. Runs session.unsubscribed. */
  unsubscribe(session: Session, topic: string): boolean {
    const opts = session.subscriptions.get(topic);
    if (opts === undefined) return false;
    session.deleteSubscription(topic);
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed !== 'string') this.removeRoute(parsed.filter, session, parsed.group);
    this.refreshRouteStats();
    session.touched();
    if (this.hooks.has('session.unsubscribed'))
      this.hooks.run('session.unsubscribed', session.clientInfo, topic, opts);
    return true;
  }

  private removeRoute(filter: string, session: Session, group: string | undefined): void {
    if (this.router.remove(filter, session, group)) this.cluster?.routes?.removed(filter, group);
  }

  /**
   * On a cluster node, makes the routes of subscription topics about to be subscribed known cluster-wide
   * before the client hears SUBACK, so anything published anywhere after SUBACK reaches it. Resolves at
   * once (undefined) on a single node or when every route already exists; the caller calls releaseRoutes
   * with the same topics once it subscribed (or gave up).
   */
  holdRoutes(topics: readonly string[]): Promise<void> | undefined {
    const routes = this.cluster?.routes;
    if (routes === undefined) return undefined;
    for (const topic of topics) {
      const parsed = parseSubscriptionTopic(topic);
      if (typeof parsed !== 'string') routes.added(parsed.filter, parsed.group);
    }
    return routes.settled();
  }

  releaseRoutes(topics: readonly string[]): void {
    const routes = this.cluster?.routes;
    if (routes === undefined) return;
    for (const topic of topics) {
      const parsed = parseSubscriptionTopic(topic);
      if (typeof parsed !== 'string') routes.removed(parsed.filter, parsed.group);
    }
  }

  private refreshRouteStats(): void {
    // Five gauge updates per SUBSCRIBE filter: through setStat's name lookups they were 0.4 µs a filter
    // (profile of bench/subscribe-rate.ts, 2026-12-04); the gauge objects are looked up once instead.
    const g = (this.routeGauges ??= ROUTE_STATS.map((name) => this.metrics.stat(name)));
    const r = this.router;
    setGauge(g[0]!, r.topicCount);
    const subs = r.subscriptions;
    setGauge(g[1]!, subs);
    setGauge(g[2]!, subs);
    setGauge(g[3]!, subs);
    setGauge(g[4]!, r.sharedSubscriptions);
  }

  // ---------------------------------------------------------------- sessions

  /**
   * The session serving a client's connection (for hook users such as the retainer); undefined once the
   * session has ended or moved to a newer connection of the same client id.
   */
  sessionOf(clientInfo: ClientInfo): Session | undefined {
    return this.registry.ofClient(clientInfo)?.session;
  }

  /**
   * Opens a session for a client that just logged in. A live connection with the same key is closed; its
   * session is taken over (clean start false) or discarded (clean start true).
   */
  openSession(p: OpenSessionParams): OpenedSession {
    const existing = this.registry.get(p.namespace, p.clientid);
    const hooks = this.hooks;
    if (existing !== undefined) {
      if (!p.cleanStart) {
        this.takeOver(existing);
        const session = existing.session;
        this.attachClient(session, p.clientInfo);
        session.applySettings(p.settings);
        session.expiryInterval = p.expiryInterval;
        existing.channel = p.channel;
        existing.disconnectedAt = undefined;
        const journal = this.journal;
        if (journal !== undefined) {
          // Opened clean, the session was not journalled (below); now it may outlive its connection.
          if (p.expiryInterval > 0) journal.opened(existing);
          // Also when the expiry dropped to 0: the stored copy must go.
          journal.touch(session);
        }
        this.metrics.c['session.resumed']++;
        if (hooks.has('session.resumed')) hooks.run('session.resumed', p.clientInfo, session.info());
        this.cluster?.registry?.opened(existing);
        return { session, present: true };
      }
      this.discardRecord(existing);
    }
    const session = new Session(p.clientid, p.clientInfo, p.settings, this);
    session.expiryInterval = p.expiryInterval;
    this.attachClient(session, p.clientInfo);
    const record = new SessionRecord(p.namespace, session);
    record.channel = p.channel;
    this.registry.set(p.namespace, p.clientid, record);
    // Only a session that may outlive its connection is journalled (the resume above adds one that now
    // may): a clean session never reaches the store, and its journal entry was a Map set and delete per
    // connection for nothing.
    if (this.journal !== undefined && p.expiryInterval > 0) {
      this.journal.opened(record);
      session.touched();
    }
    this.metrics.setStat('sessions', this.registry.count());
    this.metrics.c['session.created']++;
    if (hooks.has('session.created')) hooks.run('session.created', p.clientInfo, session.info());
    this.cluster?.registry?.opened(record);
    return { session, present: false };
  }

  /**
   * Takes a session away from its connection for a new one (here or on another node): a pending will is
   * cancelled (the client is back), the expiry stops, the old connection is closed with 'takenover' and
   * session.takenover runs. The session keeps its subscriptions, so deliveries queue in it meanwhile.
   */
  takeOver(record: SessionRecord): void {
    const old = this.detachRecord(record, 'takenover');
    if (old === undefined) return;
    this.metrics.c['session.takenover']++;
    if (this.hooks.has('session.takenover'))
      this.hooks.run('session.takenover', old.clientInfo, record.session.info());
  }

  /** Ends a session because its client logged in again with clean start (here or on another node). */
  discardRecord(record: SessionRecord): void {
    const old = this.detachRecord(record, 'discarded');
    this.metrics.c['session.discarded']++;
    if (this.hooks.has('session.discarded'))
      this.hooks.run(
        'session.discarded',
        old?.clientInfo ?? record.session.clientInfo,
        record.session.info(),
      );
    this.terminate(record, 'discarded');
  }

  private detachRecord(record: SessionRecord, reason: 'takenover' | 'discarded'): LiveChannel | undefined {
    this.cancelPendingWill(record, false);
    if (record.expiryTimer !== undefined) clearTimeout(record.expiryTimer);
    record.expiryTimer = undefined;
    const old = record.channel;
    record.channel = undefined;
    if (old !== undefined) old.kick(reason);
    record.session.detach();
    return old;
  }

  /**
   * Forgets a session that moved to another node: its routes and registry entry go, with no will, no hooks
   * and no redispatch (its messages went with it).
   */
  forget(record: SessionRecord): void {
    if (this.registry.get(record.namespace, record.session.clientid) !== record) return;
    this.detachRecord(record, 'takenover');
    this.dropRecord(record);
  }

  /** Removes a session's routes and state and its registry entry (local and stored). */
  private dropRecord(record: SessionRecord): void {
    const session = record.session;
    // Most sessions that end (every connection that never subscribed) have no routes: no key copy, and
    // the route gauges stay as they are.
    if (session.subscriptions.size > 0) {
      for (const topic of [...session.subscriptions.keys()]) {
        const parsed = parseSubscriptionTopic(topic);
        if (typeof parsed !== 'string') this.removeRoute(parsed.filter, session, parsed.group);
      }
      session.clearSubscriptions();
      this.refreshRouteStats();
    }
    session.terminate();
    this.registry.delete(record.namespace, record);
    this.journal?.ended(record);
    this.metrics.setStat('sessions', this.registry.count());
  }

  /** Points a (resumed) session at the ClientInfo of its new connection (which sessionOf goes by). */
  private attachClient(session: Session, clientInfo: ClientInfo): void {
    session.clientInfo = clientInfo;
  }

  /**
   * A channel lost its connection. The session ends now (expiry 0) or waits `expiryInterval` seconds for
   * the client. A channel that was already replaced by a takeover is ignored.
   */
  closeSession(namespace: string, channel: LiveChannel, session: Session): void {
    const record = this.registry.get(namespace, session.clientid);
    if (record === undefined || record.session !== session || record.channel !== channel) return;
    record.channel = undefined;
    record.disconnectedAt = Date.now();
    session.detach();
    // DISCONNECT may have changed the expiry; the countdown starts from now.
    session.touched();
    if (session.expiryInterval === 0) {
      // terminate hands the shared messages on (no pending will can be there to go first: a will is only
      // delayed for a session that outlives its connection, and the connection that just ended cancelled it).
      this.terminate(record, 'normal');
      return;
    }
    this.redispatchShared(session);
    this.armExpiry(record);
    this.cluster?.registry?.closed(record);
  }

  /** Starts the expiry countdown of an offline session (none for 'never'). */
  armExpiry(record: SessionRecord): void {
    const expiry = record.session.expiryInterval;
    if (expiry >= NEVER_EXPIRE) return;
    // setTimeout cannot wait longer than ~24.8 days; re-arm in steps for longer expiries.
    const deadline = Date.now() + expiry * 1000;
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) {
        record.expiryTimer = undefined;
        this.terminate(record, 'expired');
        return;
      }
      record.expiryTimer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
      record.expiryTimer.unref();
    };
    arm();
  }

  /** Registers a will to publish after `delayMs`, unless the client reconnects first or the session ends. */
  scheduleWill(namespace: string, clientid: string, delayMs: number, publish: () => void): void {
    const record = this.registry.get(namespace, clientid);
    if (record === undefined) {
      publish();
      return;
    }
    this.cancelPendingWill(record, false);
    // setTimeout fires at once for delays beyond ~24.8 days: re-arm in steps, as for session expiry.
    const deadline = Date.now() + delayMs;
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) {
        record.pendingWill = undefined;
        publish();
        return;
      }
      const timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
      timer.unref();
      record.pendingWill = { timer, publish };
    };
    const timer = setTimeout(arm, Math.min(delayMs, 2 ** 31 - 1));
    timer.unref();
    record.pendingWill = { timer, publish };
  }

  private cancelPendingWill(record: SessionRecord, publishNow: boolean): void {
    const w = record.pendingWill;
    if (w === undefined) return;
    clearTimeout(w.timer);
    record.pendingWill = undefined;
    if (publishNow) w.publish();
  }

  /** Closes a client's connection by administrative action (API/CLI kick). Returns false if not connected. */
  kick(namespace: string, clientid: string, reason: KickReason = 'kicked'): boolean {
    const record = this.registry.get(namespace, clientid);
    if (record === undefined) return false;
    const ch = record.channel;
    if (ch === undefined) {
      // Kicking an offline session discards it (EMQX does the same for the clients API).
      this.terminate(record, 'kicked');
      return true;
    }
    ch.kick(reason);
    // A kicked client's session goes with it, as in EMQX (its channel is gone for good).
    const after = this.registry.get(namespace, clientid);
    if (after === record && after.channel === undefined) this.terminate(record, reason);
    return true;
  }

  /** Ends a session for good: routes removed, shared messages handed on, session.terminated run. */
  terminate(record: SessionRecord, reason: string): void {
    const session = record.session;
    if (record.expiryTimer !== undefined) clearTimeout(record.expiryTimer);
    record.expiryTimer = undefined;
    // The session ended, so a delayed will goes out now [MQTT-3.1.3-9].
    this.cancelPendingWill(record, true);
    this.redispatchShared(session);
    this.dropRecord(record);
    this.cluster?.registry?.ended(record);
    this.metrics.c['session.terminated']++;
    if (this.hooks.has('session.terminated')) {
      this.hooks.run('session.terminated', session.clientInfo, reason, session.info());
    }
  }

  /** Hands a leaving shared-subscription member's unacknowledged QoS 1/2 messages to other members. */
  private redispatchShared(session: Session): void {
    const pending = session.takeSharedDeliveries();
    for (const d of pending) {
      const share = d.opts.share!;
      // The subscription topic names the group; find its filter to find the other members: on this node
      // first, then (on a cluster node) on the others.
      const routes = this.cluster?.routes;
      let delivered = 0;
      for (const [topic, opts] of session.subscriptions) {
        if (opts.share !== share) continue;
        const parsed = parseSubscriptionTopic(topic);
        if (typeof parsed === 'string') continue;
        const entry = this.router.lookup(parsed.filter);
        if (entry !== undefined) delivered = this.dispatchShared(share, entry, d.msg, session);
        if (delivered === 0 && routes?.redispatch(share, parsed.filter, d.msg) === true) delivered = 1;
        if (delivered > 0) break;
      }
      if (delivered === 0) {
        logger.debug({ topic: d.msg.topic, group: share }, 'shared message had no other member');
        this.dropped(d.msg, 'no_subscribers');
      }
    }
  }
}
