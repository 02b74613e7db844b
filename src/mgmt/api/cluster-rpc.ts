/**
 * `GET /cluster_rpc/status`: how far each node got through the cluster's config log (EMQX reports the same
 * through `emqx ctl conf cluster_sync status` and logs `cluster_rpc_peers_lagging`). `wait_ms` waits that
 * long for every live node to apply the latest change before answering, so a script can change the config
 * on one node and then wait until the whole cluster has it. A single node answers with itself at 0.
 */
import { Type } from '@sinclair/typebox';
import type { Api, MgmtPlane } from '../types.js';

/**
 * The config log's registry (with NATS's client behind it), loaded only by a node in a cluster, where the
 * cluster runtime has loaded it already: a single node's API start does not load NATS (~150 ms, 2026-12-04).
 */
function confLogModule(): Promise<typeof import('../../cluster/conf-log.js')> {
  return import('../../cluster/conf-log.js');
}

export async function clusterRpcArea(app: Api, ctx: MgmtPlane): Promise<void> {
  app.get(
    '/cluster_rpc/status',
    {
      schema: {
        tags: ['Cluster'],
        summary: "Each node's progress through the cluster config log, and the lagging peers",
        querystring: Type.Object({ wait_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 })) }),
      },
    },
    async (req) => {
      const log =
        ctx.node.cluster === undefined
          ? undefined
          : (await confLogModule()).confLogOf(ctx.node.configService);
      if (log === undefined)
        return {
          latest_tnx_id: 0,
          peers_lagging: [],
          nodes: [{ node: ctx.node.name, tnx_id: 0, lag: 0, alive: true, updated_at: Date.now() }],
        };
      const wait = req.query.wait_ms ?? 0;
      if (wait > 0) await log.waitApplied(await log.latest(), wait);
      return log.status();
    },
  );
}
