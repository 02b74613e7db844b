/** What this node's management plane answers other nodes (cluster/mgmt-rpc.ts carries the questions). */
import type { MgmtAnswers } from '../cluster/mgmt-rpc.js';
import { clientOpHere, clientSlice, kickLocal, sessionsCount } from './api/clients.js';
import { gatewayClientSlice } from './api/gateways-clients.js';
import { nodeMetrics, nodeStats } from './api/metrics.js';
import { monitorCurrent } from './api/monitor.js';
import { nodeInfo } from './api/nodes.js';
import { subscriptionSlice } from './api/subscriptions.js';
import type { MgmtPlane } from './types.js';

/** The answers of the node of `ctx` (read lazily: the plane is built after its peers). */
export function nodeAnswers(plane: () => MgmtPlane): MgmtAnswers {
  return {
    node: () => nodeInfo(plane()),
    stats: () => nodeStats(plane()),
    metrics: () => nodeMetrics(plane()),
    monitor_current: () => monitorCurrent(plane()),
    clients: (req) => clientSlice(plane(), req),
    subscriptions: (req) => subscriptionSlice(plane(), req),
    gateway_clients: (req) => gatewayClientSlice(plane(), req),
    client_op: (req) => clientOpHere(plane(), req),
    kick: ({ clientids }) => kickLocal(plane(), clientids),
    sessions_count: ({ since }) => sessionsCount(plane(), since),
  };
}
