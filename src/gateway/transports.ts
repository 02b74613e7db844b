/**
 * Which transport serves a gateway listener type. tcp/ssl are src/transport's stream listeners; udp/dtls
 * come from src/transport/udp.ts, loaded on first use so the framework builds and runs (with stream
 * gateways) whether or not the datagram transport has landed. A test or plugin may register its own.
 */
import type { GatewayListenerConfig, GatewayListenerType } from '../config/schema/gateway-common.js';
import { tlsOptionsFromConfig } from '../transport/config-options.js';
import { createListener } from '../transport/index.js';
import type { ListenerOptions } from '../transport/listener.js';
import type { TransportFactory, TransportListenerSpec } from './types.js';

const registered = new Map<GatewayListenerType, TransportFactory>();

/** Makes `factory` serve the given listener types (replacing the built-in one). */
export function registerTransport(types: readonly GatewayListenerType[], factory: TransportFactory): void {
  for (const t of types) registered.set(t, factory);
}

/** Where the datagram transport lives, relative to this file (a variable keeps TypeScript from resolving it). */
const DATAGRAM_MODULE = '../transport/udp.js';

/** The factory for a listener type; rejects with a clear message when the datagram transport is missing. */
export async function transportFor(type: GatewayListenerType): Promise<TransportFactory> {
  const own = registered.get(type);
  if (own !== undefined) return own;
  if (type === 'tcp' || type === 'ssl') return streamFactory;
  let mod: { createDatagramListener?: TransportFactory };
  try {
    mod = (await import(DATAGRAM_MODULE)) as typeof mod;
  } catch (err) {
    throw new Error(`${type} listeners are not available: ${(err as Error).message}`);
  }
  if (typeof mod.createDatagramListener !== 'function')
    throw new Error(
      `${type} listeners are not available: src/transport/udp.ts exports no createDatagramListener`,
    );
  registered.set('udp', mod.createDatagramListener);
  registered.set('dtls', mod.createDatagramListener);
  return mod.createDatagramListener;
}

const streamFactory: TransportFactory = (spec, events) => createListener(streamOptions(spec), events);

/** src/transport ListenerOptions for a tcp/ssl gateway listener. */
export function streamOptions(spec: TransportListenerSpec): ListenerOptions {
  const c: GatewayListenerConfig = spec.config;
  const t = c.tcp_options;
  const opts: ListenerOptions = {
    id: spec.id,
    type: spec.type === 'ssl' ? 'ssl' : 'tcp',
    bind: spec.bind,
    maxConnections: spec.maxConnections,
    maxConnRate: spec.maxConnRate,
    proxyProtocol: c.proxy_protocol ?? false,
    proxyProtocolTimeoutMs: c.proxy_protocol_timeout ?? 3000,
    tcp: {
      nodelay: t?.nodelay ?? true,
      backlog: t?.backlog ?? 1024,
      highWatermark: t?.high_watermark ?? 0,
      sendTimeoutMs: t?.send_timeout ?? 15_000,
      keepalive: t !== undefined && t.keepalive !== 'none',
    },
  };
  const s = c.ssl_options;
  if (spec.type === 'ssl' && s !== undefined) {
    opts.tls = tlsOptionsFromConfig(s);
  }
  return opts;
}
