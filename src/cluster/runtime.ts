/**
 * A node's membership in a cluster: the bus, the node list and the parts, started when `cluster.nats.servers`
 * is set. Loaded with a dynamic import, so a single node never loads NATS.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { logger } from '../log.js';
import { VERSION } from '../version.js';
import { ClusterBus } from './bus.js';
import { Membership } from './membership.js';
import { clusterParts } from './parts.js';
import type { ClusterContext, ClusterHost, ClusterPart } from './types.js';

export class ClusterRuntime {
  private readonly started: ClusterPart[] = [];

  private constructor(
    readonly bus: ClusterBus,
    readonly membership: Membership,
    private readonly parts: ClusterPart[],
    private readonly ctx: ClusterContext,
  ) {}

  /** Connects to the bus, takes the node's name and starts every part. */
  static async start(host: ClusterHost): Promise<ClusterRuntime> {
    const config = host.config.cluster;
    const bus = new ClusterBus(host.name, config);
    await bus.start();
    const membership = new Membership(bus, {
      name: host.name,
      incarnation: randomUUID(),
      started_at: Date.now(),
      version: VERSION,
      pid: process.pid,
      host: hostname(),
    });
    try {
      await membership.start();
    } catch (err) {
      await bus.stop();
      throw err;
    }
    const rt = new ClusterRuntime(bus, membership, clusterParts(), { bus, membership, host });
    try {
      for (const p of rt.parts) {
        rt.started.push(p);
        await p.start(rt.ctx);
      }
    } catch (err) {
      await rt.stop();
      throw err;
    }
    logger.info({ node: host.name, cluster: config.name, nodes: membership.alive() }, 'cluster: joined');
    return rt;
  }

  /** Tells every part that the whole node is up. */
  async ready(): Promise<void> {
    for (const p of this.started) await p.ready?.();
  }

  /** Stops the parts (last first), leaves the node list and closes the bus. */
  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const p = this.started.pop()!;
      try {
        await p.stop();
      } catch (err) {
        logger.error({ err, part: p.name }, 'cluster: part failed to stop');
      }
    }
    await this.membership.stop();
    await this.bus.stop();
  }
}
