/**
 * The channel context: the shared half of every gateway client. Login (client.connect,
 * clientinfo_override, bans, authentication by listener or gateway chain, mountpoint, session in the
 * gateway's namespace, client.connack), authorization, publish, subscribe and unsubscribe with
 * mountpoints and hooks. One per connection; the channel holds it, the driver owns it.
 */
import { randomBytes } from 'node:crypto';
import type { AuthzCache } from '../access/authz-cache.js';
import { applyAuthResult, credentialOf, newAuthzCache, renderMountpoint } from '../access/login.js';
import type { TopicFilterEntry } from '../broker/hooks.js';
import { Message } from '../broker/message.js';
import { renderTemplate } from '../broker/placeholders.js';
import type { AwaitRelResult, Session } from '../broker/session.js';
import {
  joinShare,
  mount,
  parseSubscriptionTopic,
  topicFilterError,
  topicNameError,
  unmount,
} from '../broker/topic.js';
import type { AuthnResult, AuthzAction, ClientInfo, ConnInfo, QoS, SubOpts } from '../broker/types.js';
import type { Logger } from '../log.js';
import { andThen } from './maybe-async.js';
import { applyOverride } from './override.js';
import type { ContextDriver, GatewayScope } from './scope.js';
import type {
  CallResult,
  ChannelContext,
  ConnectionFacts,
  Delivery,
  GatewayCommonConfig,
  GatewayListenerInfo,
  LoginRequest,
  LoginResult,
  PublishRequest,
  PublishResult,
  SubscribeResult,
} from './types.js';

type AuthOk = Extract<AuthnResult, { kind: 'ok' }>;

/** The ChannelContext of one connection. */
export class GatewayChannelContext implements ChannelContext {
  clientInfo: ClientInfo | undefined;
  connInfo: ConnInfo | undefined;
  /** The broker session, when the login opened one (the driver attaches it; channels use the methods below). */
  session: Session | undefined;
  /** Epoch seconds when the client's authentication expires (from the authenticator). */
  expireAt: number | undefined;
  /** Per-connection authorization cache (cleared by access control when its sources change). */
  authzCache: AuthzCache | undefined;
  readonly log: Logger;

  constructor(
    readonly gw: GatewayScope,
    private readonly driver: ContextDriver,
    readonly listener: GatewayListenerInfo,
    readonly conn: ConnectionFacts,
  ) {
    this.log = gw.log.child({ listener: listener.id, peer: `${conn.peerhost}:${conn.peerport}` });
  }

  get gateway(): string {
    return this.gw.name;
  }

  get protocol(): string {
    return this.gw.module.protocol;
  }

  get node(): string {
    return this.gw.env.node;
  }

  get config(): GatewayCommonConfig {
    return this.gw.config;
  }

  get hooks() {
    return this.gw.env.broker.hooks;
  }

  get metrics() {
    return this.gw.metrics;
  }

  // ---------------------------------------------------------------- login

  login(request: LoginRequest): LoginResult | Promise<LoginResult> {
    const env = this.gw.env;
    // A DTLS peer that proved a pre-shared key is known by its identity when its protocol names no user
    // (Mosquitto's use_identity_as_username): authentication and authorization see it as the username.
    const psk = this.conn.pskIdentity;
    const req = request.username === undefined && psk !== undefined ? { ...request, username: psk } : request;
    this.gw.metrics.inc('client.connect');
    env.broker.metrics.c['client.connect']++;
    const connInfo: ConnInfo = {
      clientid: req.clientid,
      username: req.username,
      peerhost: this.conn.peerhost,
      peerport: this.conn.peerport,
      sockport: this.conn.sockport,
      proto_name: req.proto_name,
      proto_ver: req.proto_ver,
      keepalive: req.keepalive,
      clean_start: req.clean_start,
      expiry_interval: req.expiry_interval,
      connected_at: Date.now(),
    };
    const hooks = env.broker.hooks;
    if (!hooks.has('client.connect')) return this.identify(req, connInfo);
    return andThen(hooks.runFold('client.connect', [connInfo], {}), (acc) =>
      'error' in acc
        ? this.refuse(connInfo, 'refused_by_hook', 'refused by client.connect hook')
        : this.identify(req, connInfo),
    );
  }

  /** Builds ClientInfo, applies clientinfo_override, checks bans, authenticates. */
  private identify(req: LoginRequest, connInfo: ConnInfo): LoginResult | Promise<LoginResult> {
    const env = this.gw.env;
    const cert = this.conn.peerCert;
    const ci: ClientInfo = {
      node: env.node,
      clientid: req.clientid,
      username: req.username,
      peerhost: this.conn.peerhost,
      peerport: this.conn.peerport,
      sockport: this.conn.sockport,
      protocol: this.protocol,
      mountpoint: '',
      listener: this.listener.id,
      zone: 'default',
      is_superuser: false,
      anonymous: req.username === undefined,
      is_bridge: false,
      cn: cert?.cn,
      dn: cert?.dn,
      client_attrs: {},
      enable_authn: this.listener.enableAuthn,
      ...req.extra,
    };
    let password = typeof req.password === 'string' ? Buffer.from(req.password) : req.password;
    password = applyOverride(
      this.gw.config.clientinfo_override,
      { Packet: req.packet, ConnInfo: connInfo, ClientInfo: ci },
      password,
    );
    if (ci.clientid === '') {
      ci.clientid = randomBytes(16).toString('hex');
      connInfo.clientid = ci.clientid;
    }
    if (env.isBanned(ci)) return this.refuse(connInfo, 'banned', 'banned');
    if (!this.listener.enableAuthn) return this.complete(req, ci, connInfo, { kind: 'ok' });
    const credential = credentialOf(ci, password);
    return andThen(env.access.authenticate(credential), (r) => {
      switch (r.kind) {
        case 'ok':
          return this.complete(req, ci, connInfo, r);
        case 'ignore':
          return this.complete(req, ci, connInfo, { kind: 'ok' });
        case 'error':
          return this.refuse(connInfo, r.reason, r.message ?? r.reason);
        default:
          // Gateways have no enhanced-authentication exchange.
          return this.refuse(
            connInfo,
            'bad_authentication_method',
            'enhanced authentication is not supported',
          );
      }
    });
  }

  private complete(
    req: LoginRequest,
    ci: ClientInfo,
    connInfo: ConnInfo,
    auth: AuthOk,
  ): LoginResult | Promise<LoginResult> {
    const gw = this.gw;
    const env = gw.env;
    // An async authenticator may answer after the client left: a session opened now would have no connection.
    if (this.driver.isClosed())
      return { ok: false, reason: 'not_authorized', message: 'connection closed during login' };
    applyAuthResult(ci, auth);
    renderMountpoint(ci, req.mountpoint ?? this.listener.mountpoint);
    this.authzCache = newAuthzCache(env.authzCache());
    this.clientInfo = ci;
    this.connInfo = connInfo;
    this.expireAt = auth.expire_at;
    const ok =
      req.sessionMode === 'none' ? this.sessionless(ci, connInfo) : this.claimSession(req, ci, connInfo);
    const hooks = env.broker.hooks;
    if (!hooks.has('client.connack')) return ok;
    return andThen(ok, (res) =>
      res.ok ? andThen(hooks.runFold('client.connack', [connInfo, 'success'], {}), () => res) : res,
    );
  }

  /** On a cluster node the client id is first claimed cluster-wide (its session may come from another node). */
  private claimSession(
    req: LoginRequest,
    ci: ClientInfo,
    connInfo: ConnInfo,
  ): LoginResult | Promise<LoginResult> {
    const env = this.gw.env;
    const settings = { ...env.sessionDefaults(), ...req.session };
    const claim = env.broker.cluster?.registry?.claim({
      namespace: this.gw.name,
      clientid: ci.clientid,
      cleanStart: req.clean_start,
      expiryInterval: req.expiry_interval,
      clientInfo: ci,
      settings,
    });
    if (claim === undefined) return this.openSession(req, ci, connInfo);
    return claim.then((r): LoginResult => {
      if (this.driver.isClosed())
        return { ok: false, reason: 'not_authorized', message: 'connection closed during login' };
      if (!r.ok) return this.refuse(connInfo, 'server_unavailable', r.message);
      return this.openSession(req, ci, connInfo);
    });
  }

  private openSession(req: LoginRequest, ci: ClientInfo, connInfo: ConnInfo): LoginResult {
    const gw = this.gw;
    const env = gw.env;
    const { session, present } = env.broker.openSession({
      namespace: gw.name,
      clientid: ci.clientid,
      cleanStart: req.clean_start,
      expiryInterval: req.expiry_interval,
      channel: this.driver,
      clientInfo: ci,
      settings: { ...env.sessionDefaults(), ...req.session },
    });
    this.session = session;
    return { ok: true, clientInfo: ci, connInfo, present, subscriptions: [...session.subscriptions.keys()] };
  }

  /** A login without a broker session: nothing is registered, so nothing is taken over or delivered. */
  private sessionless(ci: ClientInfo, connInfo: ConnInfo): LoginResult {
    return { ok: true, clientInfo: ci, connInfo, present: false, subscriptions: [] };
  }

  private refuse(
    connInfo: ConnInfo,
    reason: Extract<LoginResult, { ok: false }>['reason'],
    message: string,
  ): LoginResult {
    this.gw.metrics.inc('client.auth.failure');
    this.log.info({ clientid: connInfo.clientid, reason }, `${this.gw.name}: login refused: ${message}`);
    const hooks = this.gw.env.broker.hooks;
    // A refusal answers no matter what the hook says, so an async callback is not awaited.
    if (hooks.has('client.connack')) void hooks.runFold('client.connack', [connInfo, reason], {});
    return { ok: false, reason, message };
  }

  // ---------------------------------------------------------------- pub/sub

  authorize(action: AuthzAction, topic: string): boolean | Promise<boolean> {
    return this.authorizeAs(this.clientInfo ?? this.anonymous(), action, topic);
  }

  private authorizeAs(ci: ClientInfo, action: AuthzAction, topic: string): boolean | Promise<boolean> {
    return andThen(this.gw.env.access.authorize(ci, action, topic, this.authzCache), (allow) => {
      if (!allow) this.gw.metrics.inc('client.authz.deny');
      return allow;
    });
  }

  publish(req: PublishRequest): PublishResult | Promise<PublishResult> {
    const err = topicNameError(req.topic, this.gw.env.topicLimits());
    if (err !== undefined) return { result: 'invalid', message: err };
    if (req.skipAuthz === true) return this.dispatch(req);
    const who = this.clientInfo ?? this.anonymous(req.identity);
    return andThen(
      this.authorizeAs(who, { action_type: 'publish', qos: req.qos, retain: req.retain }, req.topic),
      (ok) =>
        ok ? this.dispatch(req) : { result: 'denied', message: `not authorized to publish to ${req.topic}` },
    );
  }

  private dispatch(req: PublishRequest): PublishResult | Promise<PublishResult> {
    const ci = this.clientInfo ?? this.anonymous(req.identity);
    const msg = new Message(
      mount(ci.mountpoint, req.topic),
      req.payload,
      req.qos,
      req.from ?? ci.clientid,
      req.retain,
      req.props,
      { username: ci.username, peerhost: ci.peerhost, protocol: this.protocol, ...req.headers },
    );
    const env = this.gw.env;
    const c = env.broker.metrics.c;
    c['messages.received']++;
    c[
      req.qos === 0
        ? 'messages.qos0.received'
        : req.qos === 1
          ? 'messages.qos1.received'
          : 'messages.qos2.received'
    ]++;
    this.gw.metrics.inc('messages.received');
    this.driver.counters.recvMsg++;
    this.driver.deferOwnDeliveries();
    return andThen(env.broker.publish(msg), (n): PublishResult => {
      if (n < 0) {
        this.gw.metrics.inc('messages.dropped');
        return { result: 'dropped', message: 'dropped by message.publish' };
      }
      return { result: 'ok', delivered: n };
    });
  }

  subscribe(topic: string, opts: SubOpts): SubscribeResult | Promise<SubscribeResult> {
    const session = this.session;
    const ci = this.clientInfo;
    if (ci === undefined) return { result: 'refused', message: 'not connected' };
    if (session === undefined) return { result: 'refused', message: 'no session to subscribe' };
    const parsed = parseSubscriptionTopic(topic);
    if (typeof parsed === 'string') return { result: 'invalid', message: parsed };
    const err = topicFilterError(parsed.filter, this.gw.env.topicLimits());
    if (err !== undefined) return { result: 'invalid', message: err };
    const mounted = joinShare(mount(ci.mountpoint, parsed.filter), parsed.group);
    if (
      !session.subscriptions.has(mounted) &&
      session.subscriptions.size >= session.settings.maxSubscriptions
    )
      return { result: 'quota_exceeded', message: 'max_subscriptions reached' };
    return andThen(this.authorize({ action_type: 'subscribe', qos: opts.qos }, parsed.filter), (ok) => {
      if (!ok) return { result: 'denied', message: `not authorized to subscribe to ${topic}` };
      const hooks = this.gw.env.broker.hooks;
      if (!hooks.has('client.subscribe')) return this.addSubscription(session, mounted, opts);
      const entries: TopicFilterEntry[] = [{ topic, opts }];
      return andThen(hooks.runFold('client.subscribe', [ci, {}], entries), (kept): SubscribeResult => {
        const e = kept[0];
        if (e === undefined) return { result: 'refused', message: 'refused by client.subscribe hook' };
        const p = e.topic === topic ? parsed : parseSubscriptionTopic(e.topic);
        if (typeof p === 'string') return { result: 'invalid', message: p };
        return this.addSubscription(session, joinShare(mount(ci.mountpoint, p.filter), p.group), e.opts);
      });
    });
  }

  private addSubscription(session: Session, mounted: string, opts: SubOpts): SubscribeResult {
    const broker = this.gw.env.broker;
    // An async authorizer may answer after the client left: its session must not gain routes.
    if (this.driver.isClosed()) return { result: 'refused', message: 'connection closed' };
    broker.metrics.c['client.subscribe']++;
    const isNew = broker.subscribe(session, mounted, opts);
    return { result: 'ok', topic: mounted, isNew };
  }

  unsubscribe(topic: string): boolean | Promise<boolean> {
    const session = this.session;
    const ci = this.clientInfo;
    if (session === undefined || ci === undefined) return false;
    const remove = (t: string): boolean => {
      const p = parseSubscriptionTopic(t);
      if (typeof p === 'string') return false;
      const broker = this.gw.env.broker;
      broker.metrics.c['client.unsubscribe']++;
      return broker.unsubscribe(session, joinShare(mount(ci.mountpoint, p.filter), p.group));
    };
    const hooks = this.gw.env.broker.hooks;
    if (!hooks.has('client.unsubscribe')) return remove(topic);
    const opts = session.subscriptions.get(this.mountFilter(topic)) ?? { qos: 0, nl: 0, rap: 0, rh: 0 };
    return andThen(hooks.runFold('client.unsubscribe', [ci, {}], [{ topic, opts }]), (kept) => {
      const e = kept[0];
      return e === undefined ? false : remove(e.topic);
    });
  }

  private mountFilter(topic: string): string {
    const p = parseSubscriptionTopic(topic);
    if (typeof p === 'string') return topic;
    return joinShare(this.mount(p.filter), p.group);
  }

  mount(topic: string): string {
    return mount(this.clientInfo?.mountpoint ?? '', topic);
  }

  unmount(topic: string): string {
    return unmount(this.clientInfo?.mountpoint ?? '', topic);
  }

  holdDeliveries(hold: boolean): void {
    this.driver.holdDeliveries(hold);
  }

  setKeepalive(seconds: number): void {
    if (this.connInfo !== undefined) this.connInfo.keepalive = seconds;
  }

  callSelf(name: string, data?: unknown): Promise<CallResult> {
    return this.driver.command(name, data);
  }

  // ---------------------------------------------------------------- acknowledgements

  acked(packetId: number): boolean {
    return this.session?.puback(packetId) ?? false;
  }

  received(packetId: number): boolean {
    return this.session?.pubrec(packetId, false) ?? false;
  }

  completed(packetId: number): boolean {
    return this.session?.pubcomp(packetId) ?? false;
  }

  abandoned(packetId: number, qos: QoS): void {
    if (qos === 1) this.session?.puback(packetId);
    else if (qos === 2) this.session?.pubrec(packetId, true);
  }

  awaitRelease(packetId: number): AwaitRelResult {
    // Without a session nothing remembers the id: every QoS 2 publish counts as new.
    return this.session?.awaitRel(packetId) ?? 'new';
  }

  released(packetId: number): boolean {
    return this.session?.release(packetId) ?? false;
  }

  unacked(): Delivery[] {
    const s = this.session;
    if (s === undefined) return [];
    const out: Delivery[] = [];
    for (const pid of s.inflight.keys()) out.push(this.unackedDelivery(pid)!);
    return out;
  }

  unackedDelivery(packetId: number): Delivery | undefined {
    const e = this.session?.inflight.get(packetId);
    if (e === undefined) return undefined;
    return {
      msg: e.msg,
      topic: this.unmount(e.msg.topic),
      qos: e.qos,
      packetId,
      retain: e.retain,
      dup: true,
      opts: e.opts,
    };
  }

  pendingCount(): number {
    const s = this.session;
    return s === undefined ? 0 : s.mqueue.length + s.inflight.size;
  }

  flush(): void {
    this.session?.drain();
  }

  /** Who a client is before login (publishes allowed pre-login, e.g. MQTT-SN QoS −1). */
  private anonymous(identity?: PublishRequest['identity']): ClientInfo {
    return {
      node: this.gw.env.node,
      clientid: identity?.clientid ?? '',
      username: identity?.username,
      peerhost: this.conn.peerhost,
      peerport: this.conn.peerport,
      sockport: this.conn.sockport,
      protocol: this.protocol,
      mountpoint: renderTemplate(this.listener.mountpoint, () => undefined),
      listener: this.listener.id,
      zone: 'default',
      is_superuser: false,
      anonymous: true,
      is_bridge: false,
      client_attrs: {},
    };
  }
}
