/**
 * A gateway's clients as the API and CLI see them (EMQX `emqx_gateway_cm` + `emqx_gateway_api_clients`):
 * list with every filter, one client, kick, and subscriptions made through the live channel.
 */
import type { SessionRecord } from '../broker/client-registry.js';
import type { SubOpts } from '../broker/types.js';
import { GatewayConnection } from './conn.js';
import type { GatewayScope } from './scope.js';
import type { CallResult } from './types.js';

/** The filters of EMQX's gateway clients list (times in epoch ms). */
export interface ClientFilter {
  node?: string;
  clientid?: string;
  username?: string;
  ip_address?: string;
  conn_state?: 'connected' | 'idle' | 'disconnected';
  clean_start?: boolean;
  proto_ver?: string;
  like_clientid?: string;
  like_username?: string;
  gte_created_at?: number;
  lte_created_at?: number;
  gte_connected_at?: number;
  lte_connected_at?: number;
  endpoint_name?: string;
  like_endpoint_name?: string;
  gte_lifetime?: number;
  lte_lifetime?: number;
}

/**
 * A client of a gateway: its broker session (connected or waiting for its client), or a logged-in
 * connection that has no session (sessionMode 'none'), which the broker registry does not know.
 */
export type GatewayClient = SessionRecord | GatewayConnection<unknown>;

/** The live driver of a client, when it is connected through a gateway. */
export function driverOf(r: GatewayClient): GatewayConnection<unknown> | undefined {
  if (r instanceof GatewayConnection) return r;
  return r.channel instanceof GatewayConnection ? r.channel : undefined;
}

/** A logged-in connection without a broker session. */
function isSessionless(c: unknown): c is GatewayConnection<unknown> {
  return c instanceof GatewayConnection && c.ctx.session === undefined && c.ctx.clientInfo !== undefined;
}

const GONE: CallResult = { ok: false, status: 404, message: 'client process not found' };

/** Infinity is not JSON; EMQX writes "infinity". */
function limit(n: number): number | 'infinity' {
  return Number.isFinite(n) ? n : 'infinity';
}

/** The clients of one gateway, for the API and CLI. */
export class GatewayClients {
  constructor(private readonly gw: GatewayScope) {}

  /** Every session of the gateway's namespace (connected or waiting for its client). */
  records(): SessionRecord[] {
    return [...this.gw.env.broker.registry.records(this.gw.name)];
  }

  /** Every client: the sessions, then the logged-in connections that have none. */
  all(): GatewayClient[] {
    const out: GatewayClient[] = this.records();
    for (const c of this.gw.loggedIn()) if (isSessionless(c)) out.push(c);
    return out;
  }

  /** The broker session of a client id. */
  get(clientid: string): SessionRecord | undefined {
    return this.gw.env.broker.registry.get(this.gw.name, clientid);
  }

  /** A client by id: its session, else its sessionless connection. */
  find(clientid: string): GatewayClient | undefined {
    const r = this.get(clientid);
    if (r !== undefined) return r;
    const c = this.gw.connection(clientid);
    return isSessionless(c) ? c : undefined;
  }

  /** Clients matching every given filter, in registration order. */
  list(f: ClientFilter): GatewayClient[] {
    if (f.node !== undefined && f.node !== this.gw.env.node) return [];
    return this.all().filter((r) => this.matches(r, f));
  }

  private matches(r: GatewayClient, f: ClientFilter): boolean {
    const { ci, conn, connected, createdAt } = this.facts(r);
    const id = ci.clientid;
    const user = ci.username ?? '';
    if (f.clientid !== undefined && id !== f.clientid) return false;
    if (f.username !== undefined && ci.username !== f.username) return false;
    if (f.ip_address !== undefined && ci.peerhost !== f.ip_address) return false;
    if (f.conn_state !== undefined && f.conn_state !== (connected ? 'connected' : 'disconnected'))
      return false;
    if (f.clean_start !== undefined && conn?.clean_start !== f.clean_start) return false;
    if (f.proto_ver !== undefined && String(conn?.proto_ver) !== f.proto_ver) return false;
    if (f.like_clientid !== undefined && !id.includes(f.like_clientid)) return false;
    if (f.like_username !== undefined && !user.includes(f.like_username)) return false;
    const created = createdAt;
    if (f.gte_created_at !== undefined && created < f.gte_created_at) return false;
    if (f.lte_created_at !== undefined && created > f.lte_created_at) return false;
    const at = conn?.connected_at;
    if (f.gte_connected_at !== undefined && (at === undefined || at < f.gte_connected_at)) return false;
    if (f.lte_connected_at !== undefined && (at === undefined || at > f.lte_connected_at)) return false;
    const ep = typeof ci.endpoint_name === 'string' ? ci.endpoint_name : undefined;
    if (f.endpoint_name !== undefined && ep !== f.endpoint_name) return false;
    if (f.like_endpoint_name !== undefined && !(ep ?? '').includes(f.like_endpoint_name)) return false;
    const lifetime = typeof ci.lifetime === 'number' ? ci.lifetime : undefined;
    if (f.gte_lifetime !== undefined && (lifetime === undefined || lifetime < f.gte_lifetime)) return false;
    if (f.lte_lifetime !== undefined && (lifetime === undefined || lifetime > f.lte_lifetime)) return false;
    return true;
  }

  /** Kicks a client (STOMP sends ERROR "Kicked out"); false when unknown. */
  kick(clientid: string): boolean {
    if (this.gw.env.broker.kick(this.gw.name, clientid)) return true;
    // A client without a broker session is known to the gateway only.
    const c = this.gw.connection(clientid);
    if (c === undefined) return false;
    c.kick('kicked');
    return true;
  }

  /** What both kinds of client show: identity, connection facts, state and creation time. */
  private facts(r: GatewayClient) {
    if (r instanceof GatewayConnection)
      return { ci: r.clientInfo, conn: r.connInfo, connected: !r.isClosed(), createdAt: r.openedAt };
    return {
      ci: r.channel?.clientInfo ?? r.session.clientInfo,
      conn: r.channel?.connInfo ?? this.gw.lastConn.get(r.session),
      connected: r.channel !== undefined,
      createdAt: r.session.createdAt,
    };
  }

  /** One client with EMQX's fields (`time` formats epoch ms for the caller). */
  format(r: GatewayClient, time: (ms: number) => string): Record<string, unknown> {
    const { ci, conn, connected, createdAt } = this.facts(r);
    // A sessionless client holds nothing: its session figures are zero against the gateway's limits.
    const s = r instanceof GatewayConnection ? undefined : r.session;
    const d = driverOf(r);
    const st = this.gw.config.enable_stats ? d?.conn.stats : undefined;
    const n = this.gw.config.enable_stats ? d?.counters : undefined;
    const set = s?.settings ?? this.gw.env.sessionDefaults();
    const out: Record<string, unknown> = {
      node: this.gw.env.node,
      clientid: ci.clientid,
      username: ci.username ?? null,
      mountpoint: ci.mountpoint === '' ? null : ci.mountpoint,
      proto_name: conn?.proto_name ?? null,
      proto_ver: conn?.proto_ver === undefined ? null : String(conn.proto_ver),
      ip_address: ci.peerhost,
      port: ci.peerport,
      is_bridge: ci.is_bridge,
      connected_at: conn !== undefined ? time(conn.connected_at) : null,
      connected,
      keepalive: conn?.keepalive ?? 0,
      clean_start: conn?.clean_start ?? true,
      expiry_interval: s?.expiryInterval ?? 0,
      created_at: time(createdAt),
      subscriptions_cnt: s?.subscriptions.size ?? 0,
      subscriptions_max: limit(set.maxSubscriptions),
      inflight_cnt: s?.inflight.size ?? 0,
      inflight_max: limit(s?.window ?? set.maxInflight),
      mqueue_len: s?.mqueue.length ?? 0,
      mqueue_max: limit(set.maxMqueueLen),
      mqueue_dropped: s?.mqueue.dropped ?? 0,
      awaiting_rel_cnt: s?.awaitingRel.size ?? 0,
      awaiting_rel_max: limit(set.maxAwaitingRel),
      recv_oct: st?.recvOct ?? 0,
      recv_cnt: st?.recvCnt ?? 0,
      recv_pkt: n?.recvPkt ?? 0,
      recv_msg: n?.recvMsg ?? 0,
      send_oct: st?.sendOct ?? 0,
      send_cnt: st?.sendCnt ?? 0,
      send_pkt: n?.sendPkt ?? 0,
      send_msg: n?.sendMsg ?? 0,
      mailbox_len: 0,
      heap_size: 0,
      reductions: 0,
    };
    if (!(r instanceof GatewayConnection) && r.channel === undefined && r.disconnectedAt !== undefined)
      out.disconnected_at = time(r.disconnectedAt);
    // LwM2M: EMQX's endpoint_name and lifetime, and Hermod's binding and object list.
    for (const k of ['endpoint_name', 'lifetime', 'binding', 'object_list'])
      if (ci[k] !== undefined) out[k] = ci[k];
    return out;
  }

  /** A client's subscriptions: the mounted topic and its options. */
  subscriptions(
    r: GatewayClient,
  ): Array<{ topic: string; qos: number; nl: number; rap: number; rh: number }> {
    if (r instanceof GatewayConnection) return [];
    return [...r.session.subscriptions].map(([topic, o]) => ({
      topic,
      qos: o.qos,
      nl: o.nl,
      rap: o.rap,
      rh: o.rh,
    }));
  }

  /** Subscribes a connected client as if it had asked, in its connection's queue (after a pending login). */
  subscribe(
    r: GatewayClient,
    topic: string,
    opts: SubOpts,
    subProps: Record<string, unknown>,
  ): Promise<CallResult> {
    const d = driverOf(r);
    if (d === undefined) return Promise.resolve(GONE);
    return d.call({ type: 'subscribe', topic, opts, subProps });
  }

  /** Unsubscribes a connected client from an unmounted topic, in its connection's queue. */
  unsubscribe(r: GatewayClient, topic: string): Promise<CallResult> {
    const d = driverOf(r);
    if (d === undefined) return Promise.resolve(GONE);
    return d.call({ type: 'unsubscribe', topic });
  }
}
