/**
 * Hermod's ClientInfo, ConnInfo, Message, SubOpts and MQTT 5 properties turned into ExHook messages,
 * filled the way EMQX fills them: every string present ('' when undefined), message ids in hex, shared
 * subscriptions written `$share/<group>/<filter>`, User-Property pairs apart from the other properties.
 */
import type { TopicFilterEntry } from '../broker/hooks.js';
import type { Message } from '../broker/message.js';
import { parseSubscriptionTopic } from '../broker/topic.js';
import type { ClientInfo, ConnInfo, SubOpts } from '../broker/types.js';
import type { UserProperties } from '../mqtt/codec/packets.js';
import type { PbClientInfo, PbConnInfo, PbMessage, PbProperty, PbSubOpts, PbTopicFilter } from './wire.js';

/** proto ClientInfo of a client (the password only when the caller passes one: authentication). */
export function pbClientInfo(ci: ClientInfo): PbClientInfo {
  return {
    node: ci.node,
    clientid: ci.clientid,
    username: ci.username ?? '',
    password: ci.password === undefined ? '' : ci.password.toString('utf8'),
    peerhost: ci.peerhost,
    sockport: ci.sockport,
    protocol: ci.protocol,
    mountpoint: ci.mountpoint,
    is_superuser: ci.is_superuser,
    anonymous: ci.anonymous,
    cn: ci.cn ?? '',
    dn: ci.dn ?? '',
    peerport: ci.peerport,
  };
}

/** proto ConnInfo (Hermod's ConnInfo has no node: the caller gives it). */
export function pbConnInfo(conn: ConnInfo, node: string): PbConnInfo {
  return {
    node,
    clientid: conn.clientid,
    username: conn.username ?? '',
    peerhost: conn.peerhost,
    sockport: conn.sockport,
    proto_name: conn.proto_name,
    proto_ver: String(conn.proto_ver),
    keepalive: conn.keepalive,
    peerport: conn.peerport,
  };
}

/** The headers EMQX shows a provider: username, protocol, peerhost (read only) and allow_publish. */
const SENT_HEADERS = ['username', 'protocol', 'peerhost', 'allow_publish'] as const;

/** proto Message. */
export function pbMessage(msg: Message, node: string): PbMessage {
  const headers: Record<string, string> = {};
  for (const k of SENT_HEADERS) {
    const v = msg.headers[k];
    if (v !== undefined && v !== null) headers[k] = String(v);
  }
  return {
    node,
    id: msg.id,
    qos: msg.qos,
    from: msg.from,
    topic: msg.topic,
    payload: msg.payload,
    timestamp: msg.timestamp,
    headers,
  };
}

/** A subscription topic as EMQX sends it: `$queue/t` becomes `$share/$queue/t`. */
export function sharedTopic(topic: string, opts?: SubOpts): string {
  const parsed = parseSubscriptionTopic(topic);
  if (typeof parsed === 'string') return topic;
  const group = parsed.group ?? opts?.share;
  if (group === undefined) return topic;
  return `$share/${group}/${parsed.filter}`;
}

/** The filter itself for authorization: `$share/g/t/1` is authorized as `t/1`. */
export function realTopic(topic: string): string {
  const parsed = parseSubscriptionTopic(topic);
  return typeof parsed === 'string' ? topic : parsed.filter;
}

/** proto SubOpts. */
export function pbSubOpts(opts: SubOpts): PbSubOpts {
  return { qos: opts.qos, rh: opts.rh, rap: opts.rap, nl: opts.nl };
}

/** proto TopicFilter list of a client.subscribe / client.unsubscribe fold. */
export function pbTopicFilters(entries: readonly TopicFilterEntry[]): PbTopicFilter[] {
  return entries.map((e) => ({ name: sharedTopic(e.topic, e.opts), subopts: pbSubOpts(e.opts) }));
}

/** MQTT 5 property names as EMQX spells them, by Hermod's codec field name. */
const PROPERTY_NAMES: Record<string, string> = {
  payloadFormatIndicator: 'Payload-Format-Indicator',
  messageExpiryInterval: 'Message-Expiry-Interval',
  contentType: 'Content-Type',
  responseTopic: 'Response-Topic',
  correlationData: 'Correlation-Data',
  subscriptionIdentifiers: 'Subscription-Identifier',
  sessionExpiryInterval: 'Session-Expiry-Interval',
  assignedClientIdentifier: 'Assigned-Client-Identifier',
  serverKeepAlive: 'Server-Keep-Alive',
  authenticationMethod: 'Authentication-Method',
  authenticationData: 'Authentication-Data',
  requestProblemInformation: 'Request-Problem-Information',
  willDelayInterval: 'Will-Delay-Interval',
  requestResponseInformation: 'Request-Response-Information',
  responseInformation: 'Response-Information',
  serverReference: 'Server-Reference',
  reasonString: 'Reason-String',
  receiveMaximum: 'Receive-Maximum',
  topicAliasMaximum: 'Topic-Alias-Maximum',
  topicAlias: 'Topic-Alias',
  maximumQoS: 'Maximum-QoS',
  retainAvailable: 'Retain-Available',
  maximumPacketSize: 'Maximum-Packet-Size',
  wildcardSubscriptionAvailable: 'Wildcard-Subscription-Available',
  subscriptionIdentifiersAvailable: 'Subscription-Identifier-Available',
  sharedSubscriptionAvailable: 'Shared-Subscription-Available',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A property value as a proto string. Binary values (Correlation-Data, Authentication-Data) go as text when
 * they are UTF-8 and as base64 otherwise: a proto string must be UTF-8, or strict decoders (Go, Java) fail.
 */
function propertyValue(v: unknown): string {
  if (Buffer.isBuffer(v)) {
    try {
      return utf8.decode(v);
    } catch {
      return v.toString('base64');
    }
  }
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Every property except User-Property, as {name, value} strings. */
export function pbProps(props: object | undefined): PbProperty[] {
  if (props === undefined) return [];
  const out: PbProperty[] = [];
  for (const [k, v] of Object.entries(props)) {
    if (k === 'userProperties' || v === undefined) continue;
    out.push({ name: PROPERTY_NAMES[k] ?? k, value: propertyValue(v) });
  }
  return out;
}

/** The User-Property pairs, in order (a name may repeat). */
export function pbUserProps(user: UserProperties | undefined): PbProperty[] {
  if (user === undefined) return [];
  return user.map(([name, value]) => ({ name, value }));
}
