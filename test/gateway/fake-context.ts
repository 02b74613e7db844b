/**
 * A ChannelContext with no broker behind it, for testing a gateway channel without sockets or a node: it
 * records what the channel asked (logins, publishes, subscriptions, acknowledgements) and answers as told
 * (a denied topic, an asynchronous login). Every member of the contract is implemented, so a channel sees
 * exactly the interface it gets in production.
 */
import type { Hooks } from '../../src/broker/hooks.js';
import { Hooks as HookRegistry } from '../../src/broker/hooks.js';
import type { AwaitRelResult } from '../../src/broker/session.js';
import type { AuthzAction, ClientInfo, ConnInfo, QoS, SubOpts } from '../../src/broker/types.js';
import type {
  CallResult,
  ChannelContext,
  ConnectionFacts,
  Delivery,
  GatewayCommonConfig,
  GatewayListenerInfo,
  GatewayMetricName,
  GatewayMetricsSink,
  LoginRequest,
  LoginResult,
  PublishRequest,
  PublishResult,
  SubscribeResult,
} from '../../src/gateway/types.js';
import { type Logger, logger } from '../../src/log.js';

/** How the fake answers. */
export interface FakeContextOptions {
  /** Publishing or subscribing to this topic is denied. */
  deny?: string;
  /** Logins answer with a Promise. */
  asyncLogin?: boolean;
  /** Logins are refused with this reason. */
  refuseLogin?: Extract<LoginResult, { ok: false }>['reason'];
}

/** What the channel did through the context. */
export interface FakeContextCalls {
  logins: LoginRequest[];
  published: PublishRequest[];
  subscribed: Array<[string, SubOpts]>;
  unsubscribed: string[];
  /** 'acked 3', 'received 4', 'completed 4', 'abandoned 5', 'released 6', … */
  acks: string[];
  holds: boolean[];
  metrics: GatewayMetricName[];
}

/** A recording ChannelContext for channel unit tests. */
export class FakeChannelContext<C extends GatewayCommonConfig> implements ChannelContext<C> {
  readonly gateway: string;
  readonly protocol: string;
  readonly node = 'test@127.0.0.1';
  readonly hooks: Hooks = new HookRegistry();
  readonly log: Logger = logger.child({ test: 'fake-context' });
  readonly listener: GatewayListenerInfo;
  readonly conn: ConnectionFacts;
  readonly calls: FakeContextCalls = {
    logins: [],
    published: [],
    subscribed: [],
    unsubscribed: [],
    acks: [],
    holds: [],
    metrics: [],
  };
  readonly metrics: GatewayMetricsSink = { inc: (name) => this.calls.metrics.push(name) };
  clientInfo: ClientInfo | undefined;
  connInfo: ConnInfo | undefined;
  /** Deliveries the test pretends are in flight (see `unacked`). */
  readonly inflight = new Map<number, Delivery>();
  private readonly awaitingRel = new Set<number>();

  constructor(
    public config: C,
    private readonly opts: FakeContextOptions = {},
    names: { gateway?: string; protocol?: string } = {},
  ) {
    this.gateway = names.gateway ?? 'test';
    this.protocol = names.protocol ?? this.gateway;
    this.listener = {
      id: `${this.gateway}:tcp:default`,
      type: 'tcp',
      name: 'default',
      mountpoint: '',
      enableAuthn: true,
    };
    this.conn = {
      transport: 'tcp',
      kind: 'stream',
      peerhost: '127.0.0.1',
      peerport: 50000,
      sockport: 1,
      sockhost: '127.0.0.1',
      peerCert: undefined,
      stats: { recvOct: 0, recvCnt: 0, sendOct: 0, sendCnt: 0 },
    };
  }

  login(req: LoginRequest): LoginResult | Promise<LoginResult> {
    this.calls.logins.push(req);
    const r = this.answerLogin(req);
    return this.opts.asyncLogin === true ? Promise.resolve(r) : r;
  }

  private answerLogin(req: LoginRequest): LoginResult {
    if (this.opts.refuseLogin !== undefined)
      return { ok: false, reason: this.opts.refuseLogin, message: this.opts.refuseLogin };
    const clientid = req.clientid === '' ? 'generated' : req.clientid;
    this.connInfo = {
      clientid,
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
    this.clientInfo = {
      node: this.node,
      clientid,
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
      client_attrs: {},
    };
    return {
      ok: true,
      clientInfo: this.clientInfo,
      connInfo: this.connInfo,
      present: false,
      subscriptions: [],
    };
  }

  authorize(_action: AuthzAction, topic: string): boolean {
    return topic !== this.opts.deny;
  }

  publish(req: PublishRequest): PublishResult {
    if (req.topic === this.opts.deny) return { result: 'denied', message: 'no' };
    this.calls.published.push(req);
    return { result: 'ok', delivered: 1 };
  }

  subscribe(topic: string, opts: SubOpts): SubscribeResult {
    if (topic === this.opts.deny) return { result: 'denied', message: 'no' };
    this.calls.subscribed.push([topic, opts]);
    return { result: 'ok', topic, isNew: true };
  }

  unsubscribe(topic: string): boolean {
    this.calls.unsubscribed.push(topic);
    return true;
  }

  mount(topic: string): string {
    return topic;
  }

  unmount(topic: string): string {
    return topic;
  }

  holdDeliveries(hold: boolean): void {
    this.calls.holds.push(hold);
  }

  setKeepalive(seconds: number): void {
    if (this.connInfo !== undefined) this.connInfo.keepalive = seconds;
  }

  callSelf(): Promise<CallResult> {
    return Promise.resolve({ ok: false, status: 404, message: 'no driver in a fake context' });
  }

  acked(packetId: number): boolean {
    this.calls.acks.push(`acked ${packetId}`);
    return this.inflight.delete(packetId);
  }

  received(packetId: number): boolean {
    this.calls.acks.push(`received ${packetId}`);
    return this.inflight.has(packetId);
  }

  completed(packetId: number): boolean {
    this.calls.acks.push(`completed ${packetId}`);
    return this.inflight.delete(packetId);
  }

  abandoned(packetId: number, _qos: QoS): void {
    this.calls.acks.push(`abandoned ${packetId}`);
    this.inflight.delete(packetId);
  }

  awaitRelease(packetId: number): AwaitRelResult {
    if (this.awaitingRel.has(packetId)) return 'duplicate';
    this.awaitingRel.add(packetId);
    return 'new';
  }

  released(packetId: number): boolean {
    this.calls.acks.push(`released ${packetId}`);
    return this.awaitingRel.delete(packetId);
  }

  unacked(): Delivery[] {
    return [...this.inflight.values()].map((d) => ({ ...d, dup: true }));
  }

  unackedDelivery(packetId: number): Delivery | undefined {
    const d = this.inflight.get(packetId);
    return d === undefined ? undefined : { ...d, dup: true };
  }

  pendingCount(): number {
    return this.inflight.size;
  }

  flush(): void {}
}
