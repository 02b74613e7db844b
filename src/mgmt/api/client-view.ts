/** How the API shows a client (EMQX's client info fields) and finds one by client id. */
import type { SessionRecord } from '../../broker/client-registry.js';
import type { ConnInfo } from '../../broker/types.js';
import { MqttChannel } from '../../mqtt/channel.js';
import { notFound } from '../errors.js';
import { rfc3339 } from '../format.js';
import type { MgmtPlane } from '../types.js';

/** The registry namespace of MQTT clients (gateways will list their own). */
export const MQTT = 'mqtt';

/** EMQX answers this for an unknown client id. */
export const clientNotFound = () => notFound('Client ID not found', 'CLIENTID_NOT_FOUND');

/** The live MQTT channel of a record, if connected over MQTT. */
export function mqttChannel(r: SessionRecord): MqttChannel | undefined {
  return r.channel instanceof MqttChannel ? r.channel : undefined;
}

/** The connection facts of a record: the live one, else the last one seen. */
export function connOf(ctx: MgmtPlane, r: SessionRecord): ConnInfo | undefined {
  return r.channel?.connInfo ?? ctx.lastConn.get(r.session);
}

function sum(xs: number[] | undefined): number {
  return xs === undefined ? 0 : xs[0]! + xs[1]! + xs[2]!;
}

/** Infinity is not JSON; EMQX writes "infinity". */
function limit(n: number): number | 'infinity' {
  return Number.isFinite(n) ? n : 'infinity';
}

/** One client as EMQX's /clients shows it. */
export function formatClient(ctx: MgmtPlane, r: SessionRecord): Record<string, unknown> {
  const s = r.session;
  const ch = mqttChannel(r);
  const ci = r.channel?.clientInfo ?? s.clientInfo;
  const conn = connOf(ctx, r);
  const st = ch?.conn.stats;
  const n = ch?.counts;
  const set = s.settings;
  return {
    clientid: s.clientid,
    username: ci.username ?? null,
    node: ctx.node.name,
    ip_address: ci.peerhost,
    port: ci.peerport,
    peerport: ci.peerport,
    sockport: ci.sockport,
    listener: ci.listener,
    mountpoint: ci.mountpoint === '' ? null : ci.mountpoint,
    proto_name: conn?.proto_name ?? 'MQTT',
    proto_ver: conn?.proto_ver ?? null,
    keepalive: ch !== undefined ? Math.round(ch.keepaliveMs / 1000) : (conn?.keepalive ?? 0),
    clean_start: conn?.clean_start ?? false,
    expiry_interval: s.expiryInterval,
    is_persistent: s.expiryInterval > 0,
    is_bridge: ci.is_bridge,
    is_expired: false,
    durable: false,
    enable_authn: true,
    connected: r.channel !== undefined,
    created_at: rfc3339(s.createdAt),
    connected_at: conn !== undefined ? rfc3339(conn.connected_at) : null,
    ...(r.channel === undefined && r.disconnectedAt !== undefined
      ? { disconnected_at: rfc3339(r.disconnectedAt) }
      : {}),
    subscriptions_cnt: s.subscriptions.size,
    subscriptions_max: limit(set.maxSubscriptions),
    inflight_cnt: s.inflight.size,
    inflight_max: limit(s.window),
    mqueue_len: s.mqueue.length,
    mqueue_max: limit(set.maxMqueueLen),
    mqueue_dropped: s.mqueue.dropped,
    awaiting_rel_cnt: s.awaitingRel.size,
    awaiting_rel_max: limit(set.maxAwaitingRel),
    recv_oct: st?.recvOct ?? 0,
    recv_cnt: st?.recvCnt ?? 0,
    recv_pkt: n?.recvPkt ?? 0,
    recv_msg: sum(n?.recvMsg),
    'recv_msg.qos0': n?.recvMsg[0] ?? 0,
    'recv_msg.qos1': n?.recvMsg[1] ?? 0,
    'recv_msg.qos2': n?.recvMsg[2] ?? 0,
    'recv_msg.dropped': 0,
    'recv_msg.dropped.await_pubrel_timeout': 0,
    send_oct: st?.sendOct ?? 0,
    send_cnt: st?.sendCnt ?? 0,
    send_pkt: n?.sendPkt ?? 0,
    send_msg: sum(n?.sendMsg),
    'send_msg.qos0': n?.sendMsg[0] ?? 0,
    'send_msg.qos1': n?.sendMsg[1] ?? 0,
    'send_msg.qos2': n?.sendMsg[2] ?? 0,
    'send_msg.dropped': 0,
    'send_msg.dropped.expired': 0,
    'send_msg.dropped.queue_full': 0,
    'send_msg.dropped.too_large': 0,
    mailbox_len: 0,
    heap_size: 0,
    reductions: 0,
    client_attrs: ci.client_attrs,
  };
}
