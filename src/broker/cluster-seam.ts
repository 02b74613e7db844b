/**
 * Where the broker core lets a cluster in. A single node leaves `Broker.cluster` undefined and pays one
 * field check on the paths below; a cluster node's parts (src/cluster/) fill the slots they own. The broker
 * imports nothing from the cluster: the slots are interfaces defined here.
 */
import type { SessionRecord } from './client-registry.js';
import type { Message } from './message.js';
import type { SessionSettings } from './session.js';
import type { ClientInfo, MessageProperties, QoS } from './types.js';

/**
 * Routes and shared subscriptions across nodes (src/cluster/routes.ts, shared-directory.ts). The broker
 * reports every subscription the local router gains or loses (a filter, plus its group for a shared
 * member) and hands over every message published on this node once its local plain subscribers have it.
 */
export interface RouteSeam {
  /** The local router gained a subscription to `filter` (`group` set for a shared-group member). */
  added(filter: string, group: string | undefined): void;
  /** The local router lost one. */
  removed(filter: string, group: string | undefined): void;
  /**
   * Resolves once every route added so far is known to the whole cluster, so a message published anywhere
   * after it reaches this node; undefined when nothing is pending (no wait on an already-routed filter).
   */
  settled(): Promise<void> | undefined;
  /**
   * A message published on this node, after its local plain subscribers got it: sent to the other nodes'
   * routes and to one member of each matching shared group cluster-wide. Returns deliveries made here
   * (shared members on this node) plus one when the message went onto the bus.
   */
  forward(msg: Message): number;
  /**
   * A shared group's message that a leaving member on this node never acknowledged, and that no other
   * member here can take: handed to a member on another node. True when one was found.
   */
  redispatch(group: string, filter: string, msg: Message): boolean;
}

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

/**
 * Set (to the sending node's name) on a message that came from another node over the bus. The retainer
 * stores only messages published on its own node, so a bus copy that runs through message.publish is
 * never written to the cluster's retained store twice.
 */
export const FROM_NODE_HEADER = 'cluster_from_node';

/** Where the retainer sends changes made on this node and gets those made on others (src/cluster/retained.ts). */
export interface RetainedSink {
  /** A retained message stored on another node (or found in the cluster's store when this node started). */
  put(msg: Message): void;
  /** A topic's retained message removed on another node. */
  remove(topic: string): void;
}

/** The cluster's retained store, in place of the embedded one on a cluster node. */
export interface RetainedSeam {
  /** The retainer connects: it gets every message the cluster holds at once, then each later change. */
  attach(sink: RetainedSink): void;
  detach(): void;
  /** A retained message stored on this node (written to the cluster in the background). */
  stored(msg: Message): void;
  /** A topic's retained message removed on this node (empty retained publish, API, expiry). */
  removed(topic: string): void;
  /** True when the cluster held no retained message at all when this node joined (a new cluster). */
  readonly empty: boolean;
  /** True on the one node that removes expired messages for the whole cluster. */
  readonly housekeeper: boolean;
}

export interface BrokerCluster {
  routes?: RouteSeam;
  registry?: RegistrySeam;
  retained?: RetainedSeam;
}
