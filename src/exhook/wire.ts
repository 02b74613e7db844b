/**
 * The ExHook messages as plain objects (proto field names), and the 19 hook names a provider may ask for
 * with the rpc each one calls.
 */
/** The rpc names of service HookProvider. */
export type RpcName =
  | 'OnProviderLoaded'
  | 'OnProviderUnloaded'
  | 'OnClientConnect'
  | 'OnClientConnack'
  | 'OnClientConnected'
  | 'OnClientDisconnected'
  | 'OnClientAuthenticate'
  | 'OnClientAuthorize'
  | 'OnClientSubscribe'
  | 'OnClientUnsubscribe'
  | 'OnSessionCreated'
  | 'OnSessionSubscribed'
  | 'OnSessionUnsubscribed'
  | 'OnSessionResumed'
  | 'OnSessionDiscarded'
  | 'OnSessionTakenover'
  | 'OnSessionTerminated'
  | 'OnMessagePublish'
  | 'OnMessageDelivered'
  | 'OnMessageDropped'
  | 'OnMessageAcked';

/** proto `Property`. */
export interface PbProperty {
  name: string;
  value: string;
}

/** proto `RequestMeta`. */
export interface PbRequestMeta {
  node: string;
  version: string;
  sysdescr: string;
  cluster_name: string;
}

/** proto `BrokerInfo`. */
export interface PbBrokerInfo {
  version: string;
  sysdescr: string;
  uptime: number;
  datetime: string;
}

/** proto `ConnInfo`. */
export interface PbConnInfo {
  node: string;
  clientid: string;
  username: string;
  peerhost: string;
  sockport: number;
  proto_name: string;
  proto_ver: string;
  keepalive: number;
  peerport: number;
}

/** proto `ClientInfo`. */
export interface PbClientInfo {
  node: string;
  clientid: string;
  username: string;
  password: string;
  peerhost: string;
  sockport: number;
  protocol: string;
  mountpoint: string;
  is_superuser: boolean;
  anonymous: boolean;
  cn: string;
  dn: string;
  peerport: number;
}

/** proto `Message`. */
export interface PbMessage {
  node: string;
  id: string;
  qos: number;
  from: string;
  topic: string;
  payload: Buffer;
  timestamp: number;
  headers: Record<string, string>;
}

/** proto `SubOpts`. */
export interface PbSubOpts {
  qos: number;
  rh: number;
  rap: number;
  nl: number;
}

/** proto `TopicFilter`. */
export interface PbTopicFilter {
  name: string;
  subopts: PbSubOpts;
}

/** proto `HookSpec`. */
export interface PbHookSpec {
  name: string;
  topics: string[];
}

/** proto `LoadedResponse`, decoded. */
export interface PbLoadedResponse {
  hooks: PbHookSpec[];
}

/** proto `ValuedResponse`, decoded (`value` names the oneof member that is set). */
export interface PbValuedResponse {
  type: 'CONTINUE' | 'IGNORE' | 'STOP_AND_RETURN';
  value?: 'bool_result' | 'message';
  bool_result?: boolean;
  message?: PbMessage;
}

/** A request body: one of the *Request messages (meta is added by the server that sends it). */
export type PbRequest = Record<string, unknown>;

/** The hook names a provider may return from OnProviderLoaded, with the rpc each one calls. */
export const EXHOOK_RPCS = {
  'client.connect': 'OnClientConnect',
  'client.connack': 'OnClientConnack',
  'client.connected': 'OnClientConnected',
  'client.disconnected': 'OnClientDisconnected',
  'client.authenticate': 'OnClientAuthenticate',
  'client.authorize': 'OnClientAuthorize',
  'client.subscribe': 'OnClientSubscribe',
  'client.unsubscribe': 'OnClientUnsubscribe',
  'session.created': 'OnSessionCreated',
  'session.subscribed': 'OnSessionSubscribed',
  'session.unsubscribed': 'OnSessionUnsubscribed',
  'session.resumed': 'OnSessionResumed',
  'session.discarded': 'OnSessionDiscarded',
  'session.takenover': 'OnSessionTakenover',
  'session.terminated': 'OnSessionTerminated',
  'message.publish': 'OnMessagePublish',
  'message.delivered': 'OnMessageDelivered',
  'message.acked': 'OnMessageAcked',
  'message.dropped': 'OnMessageDropped',
} as const satisfies Record<string, RpcName>;

/** A hook name ExHook knows. */
export type ExhookPoint = keyof typeof EXHOOK_RPCS;

/** The hook names in EMQX's order. */
export const EXHOOK_POINTS = Object.keys(EXHOOK_RPCS) as ExhookPoint[];

/** The hooks whose answer changes what the broker does (ValuedResponse). */
export const VALUED_POINTS: ReadonlySet<ExhookPoint> = new Set([
  'client.authenticate',
  'client.authorize',
  'message.publish',
]);

/** True for a name a provider may ask for. */
export function isExhookPoint(name: string): name is ExhookPoint {
  return Object.hasOwn(EXHOOK_RPCS, name);
}

/** True for the message.* hooks, the only ones a HookSpec's topics filter. */
export function isMessagePoint(point: ExhookPoint): boolean {
  return point.startsWith('message.');
}
