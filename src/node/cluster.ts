/**
 * The node's cluster membership as two components: `cluster` joins early (right after the store, so a
 * duplicate node name stops the start before anything listens) and `cluster-ready` runs once everything
 * else started. Without `cluster.nats.servers` both do nothing and no cluster code is loaded.
 */
import type { ClusterRuntime } from '../cluster/runtime.js';
import type { ClusterHost } from '../cluster/types.js';
import type { Component } from './component.js';

export class ClusterComponent implements Component {
  readonly name = 'cluster';
  runtime: ClusterRuntime | undefined;

  constructor(private readonly host: ClusterHost) {}

  async start(): Promise<void> {
    if (this.host.config.cluster.nats.servers.length === 0) return;
    const { ClusterRuntime } = await import('../cluster/runtime.js');
    this.runtime = await ClusterRuntime.start(this.host);
  }

  async stop(): Promise<void> {
    const rt = this.runtime;
    this.runtime = undefined;
    await rt?.stop();
  }

  /** The component that tells the cluster parts the node is fully up. */
  readyComponent(): Component {
    return {
      name: 'cluster-ready',
      start: async () => {
        await this.runtime?.ready();
      },
      stop: () => undefined,
    };
  }
}
