/**
 * Every gateway Hermod ships, in listing order: the one place a gateway is registered. Each entry is the
 * gateway's descriptor (name, listener types, config schema: from its schema-only `schema.ts`) and how to
 * load its code, and its REST routes alone. The config layer composes `gateway.<name>` from this list without
 * loading any channel, codec or route code; the gateway registry loads a module when the gateway is first
 * loaded, the management API only the routes (a node that runs no gateway loads no CoAP, CBOR, XML or gRPC
 * code: ~200 ms of the API's start, 2026-12-04).
 */
import { coapDescriptor } from './coap/schema.js';
import { exprotoDescriptor } from './exproto/schema.js';
import { lwm2mDescriptor } from './lwm2m/schema.js';
import { mqttsnDescriptor } from './mqttsn/schema.js';
import { stompDescriptor } from './stomp/schema.js';
import type { GatewayManifest, GatewayModule } from './types.js';

/** For a gateway without REST routes of its own. */
const noRoutes = async (): Promise<GatewayModule['routes']> => undefined;

/** Gateway manifests, in listing order. A new gateway adds one entry. */
export const GATEWAY_CATALOG: readonly GatewayManifest[] = [
  {
    ...stompDescriptor,
    load: async () => (await import('./stomp/index.js')).stompGateway as GatewayModule,
    loadRoutes: noRoutes,
  },
  {
    ...mqttsnDescriptor,
    load: async () => (await import('./mqttsn/index.js')).mqttsnGateway as GatewayModule,
    loadRoutes: noRoutes,
  },
  {
    ...coapDescriptor,
    load: async () => (await import('./coap/index.js')).coapGateway as GatewayModule,
    loadRoutes: noRoutes,
  },
  {
    ...lwm2mDescriptor,
    load: async () => (await import('./lwm2m/index.js')).lwm2mGateway as GatewayModule,
    loadRoutes: async () => (await import('./lwm2m/routes.js')).lwm2mApiRoutes as GatewayModule['routes'],
  },
  {
    ...exprotoDescriptor,
    load: async () => (await import('./exproto/index.js')).exprotoGateway as GatewayModule,
    loadRoutes: async () => (await import('./exproto/routes.js')).exprotoRoutes,
  },
];
