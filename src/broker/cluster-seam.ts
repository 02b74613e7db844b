/**
 * Where the broker core lets a cluster in. A single node leaves `Broker.cluster` undefined and pays one
 * field check on the paths below; a cluster node's parts (src/cluster/) fill the slots they own. The broker
 * imports nothing from the cluster: the slots are interfaces defined here.
 */
import type { Message } from './message.js';

/** Routes and shared subscriptions across nodes (src/cluster/routes.ts, shared.ts). */
export type RouteSeam = {};

/** The cluster-wide client registry and session takeover (src/cluster/registry.ts). */
export type RegistrySeam = {};

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
