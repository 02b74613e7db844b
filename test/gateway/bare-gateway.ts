/**
 * A gateway on a broker core and access control only: no node, no listeners, no ports. Connections are
 * in-memory pairs handed to the gateway as a listener would hand them, so a test drives a channel through
 * the real connection driver and context.
 */
import { Value } from '@sinclair/typebox/value';
import { AccessControl } from '../../src/access/access-control.js';
import { Broker } from '../../src/broker/broker.js';
import { DeadlineMonitor } from '../../src/broker/deadlines.js';
import { Hooks } from '../../src/broker/hooks.js';
import { Metrics } from '../../src/broker/metrics.js';
import type { GatewayEnv } from '../../src/gateway/env.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayCommonConfig, GatewayListenerInfo, GatewayModule } from '../../src/gateway/types.js';
import { MemoryConnection } from '../helpers/memory-connection.js';

/** Node services for a gateway, without a node. */
export function bareEnv(): GatewayEnv & { hooks: Hooks } {
  const hooks = new Hooks();
  const metrics = new Metrics();
  const broker = new Broker(
    {
      node: 'test@127.0.0.1',
      sharedStrategy: 'random',
      sharedInitialSticky: 'random',
      ignoreLoopDeliver: false,
    },
    hooks,
    metrics,
  );
  return {
    node: 'test@127.0.0.1',
    hooks,
    broker,
    access: new AccessControl(hooks, metrics),
    deadlines: new DeadlineMonitor(),
    isBanned: () => false,
    authzCache: () => ({ enable: false, maxSize: 32, ttl: 60_000 }),
    sessionDefaults: () => ({
      maxInflight: 32,
      maxMqueueLen: 1000,
      mqueueStoreQos0: true,
      dropPolicy: 'drop_oldest',
      maxAwaitingRel: 100,
      awaitRelTimeout: 300_000,
      retryInterval: 30_000,
      upgradeQos: false,
      maxSubscriptions: Number.POSITIVE_INFINITY,
    }),
    topicLimits: () => ({ maxLevels: 128, maxLength: 65535 }),
  };
}

/** A loaded, running gateway of `module` with `raw` config (file form; defaults filled in). */
export function bareGateway(module: GatewayModule, raw: Record<string, unknown> = {}) {
  const env = bareEnv();
  const config = Value.Decode(module.schema, Value.Default(module.schema, structuredClone(raw)));
  const gw = new Gateway(module, config as GatewayCommonConfig, env);
  gw.status = 'running';
  const listener: GatewayListenerInfo = {
    id: `${module.name}:tcp:default`,
    type: 'tcp',
    name: 'default',
    mountpoint: '',
    enableAuthn: false,
  };
  // A real gateway's listening socket keeps the process alive while its (unref'd) channel timers run; with
  // no socket, this handle does, or a test waiting only on such a timer ends with the event loop drained.
  const alive = setInterval(() => {}, 60_000);
  return {
    gw,
    env,
    /** A new client connection; its `peer` writes and reads. */
    connect(kind: 'stream' | 'datagram' = 'stream'): MemoryConnection {
      const conn = new MemoryConnection(kind, listener.id);
      gw.open(conn, listener);
      return conn;
    },
    async stop(): Promise<void> {
      clearInterval(alive);
      await gw.stop();
      env.deadlines.stop();
    },
  };
}
