/**
 * `/cluster` (EMQX `emqx_mgmt_api_cluster`): the cluster's name, running nodes and this node, its topology,
 * and the join/leave operations. Hermod nodes join and leave through the NATS servers on their own (a node
 * with the same `cluster.name` and `cluster.nats.servers` is a member while it runs), so invitations and
 * forced leaves answer 400 with that explanation instead of pretending to act.
 */
import { Type } from '@sinclair/typebox';
import { badRequest, ErrorBody } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

const tags = ['Cluster'];
const NodeParam = Type.Object({ node: Type.String() });

/** Why join/leave requests do nothing: membership follows the NATS servers. */
export const AUTOMATIC_MEMBERSHIP =
  'Hermod nodes join the cluster on their own: a node started with the same cluster.name and cluster.nats.servers is a member while it runs, and leaves when it stops. Start or stop the node instead.';

export function clusterArea(app: Api, ctx: MgmtPlane): void {
  app.get('/cluster', { schema: { tags, summary: 'Cluster name and running nodes' } }, async () => ({
    name: ctx.peers.clusterName,
    description: '',
    nodes: ctx.peers.running(),
    self: ctx.peers.self,
  }));

  // Every Hermod node is a core node; none replicates another.
  app.get('/cluster/topology', { schema: { tags, summary: 'Core nodes and their replicants' } }, async () =>
    ctx.peers.running().map((core_node) => ({ core_node, replicant_nodes: [] })),
  );

  app.get('/cluster/invitation', { schema: { tags, summary: 'Status of node invitations' } }, async () => ({
    succeed: [],
    in_progress: [],
    failed: [],
  }));

  const refuse = async (): Promise<never> => {
    throw badRequest(AUTOMATIC_MEMBERSHIP);
  };
  const refused = { params: NodeParam, response: { 400: ErrorBody } };
  app.put(
    '/cluster/:node/invite',
    { schema: { tags, summary: 'Invite a node (automatic)', ...refused } },
    refuse,
  );
  app.put(
    '/cluster/:node/invite_async',
    { schema: { tags, summary: 'Invite a node (automatic)', ...refused } },
    refuse,
  );
  app.delete(
    '/cluster/:node/force_leave',
    { schema: { tags, summary: 'Remove a node (automatic)', ...refused } },
    refuse,
  );
}
