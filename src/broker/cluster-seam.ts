/**
 * Where the broker core lets a cluster in. A single node leaves `Broker.cluster` undefined and pays one
 * field check on the paths below; a cluster node's parts (src/cluster/) fill the slots they own. The broker
 * imports nothing from the cluster: the slots are interfaces defined here.
 */
import type { SessionRecord } from './client-registry.js';
import type { SessionSettings } from './session.js';
import type { ClientInfo, MessageProperties, QoS } from './types.js';

/** Routes and shared subscriptions across nodes (src/cluster/routes.ts, shared.ts). */
export type RouteSeam = {};

/** A client's will as the cluster keeps it, so a survivor can publish it when the client's node dies. */
export interface ClusterWill {
  /** Mounted topic (the client's mountpoint already applied). */
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Will properties, Will Delay Interval included (seconds). */
  properties?: MessageProperties & { willDelayInterval?: number };
}

/** A login asking for its client id cluster-wide, before its session is opened. */
export interface ClaimRequest {
  namespace: string;
  clientid: string;
  cleanStart: boolean;
  expiryInterval: number;
  clientInfo: ClientInfo;
  settings: SessionSettings;
  will?: ClusterWill | undefined;
}

/**
 * `ok`: the client id is this node's; a session handed over by its previous node (or read from the
 * persisted record) is already in the local registry, so the synchronous `openSession` that must follow at
 * once resumes it. Not ok: another login of the same id won the race, or the registry stayed busy.
 */
export type ClaimOutcome = { ok: true } | { ok: false; reason: 'busy' | 'superseded'; message: string };

/** The cluster-wide client registry and session takeover (src/cluster/registry.ts). */
export interface RegistrySeam {
  /** Claims (namespace, clientid) for this node, taking the session over from (or discarding it on) its owner. */
  claim(req: ClaimRequest): Promise<ClaimOutcome>;
  /** A session entered the local registry with a connection (right after a claim, or without one). */
  opened(record: SessionRecord): void;
  /** The connection went; the session stays here offline until it expires. */
  closed(record: SessionRecord): void;
  /** The session ended for good on this node. */
  ended(record: SessionRecord): void;
  /** The node owning (namespace, clientid) in the whole cluster, read from the registry. */
  ownerOf(namespace: string, clientid: string): Promise<string | undefined>;
}

export interface BrokerCluster {
  routes?: RouteSeam;
  registry?: RegistrySeam;
}
