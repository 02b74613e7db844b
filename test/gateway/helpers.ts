/** Brokers with gateways for tests: loopback listeners on free ports, helpers to find them and wait. */
import type { HermodNode } from '../../src/node.js';
import { merge, type RawConfig, startBroker, type TestBroker } from '../helpers/broker.js';

/** Raw `gateway.stomp` config with one tcp listener on a free loopback port. */
export function stompConfig(extra: RawConfig = {}): RawConfig {
  return merge({ listeners: { tcp: { default: { bind: '127.0.0.1:0' } } } }, extra);
}

/** Starts a broker with the STOMP gateway loaded (and the API when asked). */
export async function startStompBroker(
  opts: { stomp?: RawConfig; config?: RawConfig; api?: boolean } = {},
): Promise<TestBroker & { stompPort: number }> {
  const b = await startBroker({
    api: opts.api,
    config: merge({ gateway: { stomp: stompConfig(opts.stomp) } }, opts.config ?? {}),
  });
  return Object.assign(b, { stompPort: gatewayPort(b.node) });
}

/** The bound port of a gateway listener ('stomp:tcp:default'). */
export function gatewayPort(node: HermodNode, id = 'stomp:tcp:default'): number {
  const [gw] = id.split(':');
  const addr = node.gateways.get(gw!)?.listeners.get(id)?.transport?.address();
  if (addr === undefined) throw new Error(`gateway listener ${id} is not running`);
  return addr.port;
}

/** Polls `check` until it is true (rejects after the timeout). */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The ConnectionAdapter server the ExProto suites run against: Hermod's own (default), or grpc-js's when
 * EXPROTO_GRPC_SERVER=grpc-js, so the same suites prove both implementations answer alike.
 */
export const ADAPTER_SERVER = process.env.EXPROTO_GRPC_SERVER === 'grpc-js' ? 'grpc-js' : 'http2';
