/** In-process cluster nodes for a test: several Hermod nodes joined over one private nats-server. */
import { merge, type RawConfig, startBroker, type TestBroker } from './broker.js';

/** The config that joins a node called `name` to the cluster on `natsUrl`. */
export function clusterConfig(natsUrl: string, name: string, clusterName = 'test'): RawConfig {
  return {
    node: { name },
    cluster: {
      name: clusterName,
      nats: { servers: [natsUrl], request_timeout: '5s' },
      // Short enough that failure tests do not wait long, long enough for a loaded test machine.
      heartbeat_interval: '300ms',
      node_down_after: '2s',
    },
  };
}

/** Starts `count` nodes named hermod-1@127.0.0.1 … in order; `extra` is merged into every node's config. */
export async function startClusterNodes(
  natsUrl: string,
  count: number,
  extra: RawConfig = {},
  opts: { api?: boolean; tempDataDir?: boolean } = {},
): Promise<TestBroker[]> {
  const nodes: TestBroker[] = [];
  for (let i = 1; i <= count; i++) {
    nodes.push(
      await startBroker({
        ...opts,
        config: merge(clusterConfig(natsUrl, `hermod-${i}@127.0.0.1`), extra),
      }),
    );
  }
  return nodes;
}

/** Waits until `check` holds (polling), or fails with `what` after `ms`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
