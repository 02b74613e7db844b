/**
 * Where the broker core lets a cluster in. A single node leaves `Broker.cluster` undefined and pays one
 * field check on the paths below; a cluster node's parts (src/cluster/) fill the slots they own. The broker
 * imports nothing from the cluster: the slots are interfaces defined here.
 */

/** Routes and shared subscriptions across nodes (src/cluster/routes.ts, shared.ts). */
export type RouteSeam = {};

/** The cluster-wide client registry and session takeover (src/cluster/registry.ts). */
export type RegistrySeam = {};

export interface BrokerCluster {
  routes?: RouteSeam;
  registry?: RegistrySeam;
}
