/**
 * Every gateway Hermod ships, in listing order: the one place a gateway is registered. Each entry is the
 * gateway's descriptor (name, listener types, config schema: from its schema-only `schema.ts`) and how to
 * load its code. The config layer composes `gateway.<name>` from this list without loading any channel,
 * codec or route code; the gateway registry loads a module when the gateway is first loaded.
 */
import { coapDescriptor } from './coap/schema.js';
import { exprotoDescriptor } from './exproto/schema.js';
import { lwm2mDescriptor } from './lwm2m/schema.js';
import { mqttsnDescriptor } from './mqttsn/schema.js';
import { stompDescriptor } from './stomp/schema.js';
import type { GatewayManifest, GatewayModule } from './types.js';

/** Gateway manifests, in listing order. A new gateway adds one entry. */
export const GATEWAY_CATALOG: readonly GatewayManifest[] = [
  {
    ...stompDescriptor,
    load: async () => (await import('./stomp/index.js')).stompGateway as GatewayModule,
  },
  {
    ...mqttsnDescriptor,
    load: async () => (await import('./mqttsn/index.js')).mqttsnGateway as GatewayModule,
  },
  {
    ...coapDescriptor,
    load: async () => (await import('./coap/index.js')).coapGateway as GatewayModule,
  },
  {
    ...lwm2mDescriptor,
    load: async () => (await import('./lwm2m/index.js')).lwm2mGateway as GatewayModule,
  },
  {
    ...exprotoDescriptor,
    load: async () => (await import('./exproto/index.js')).exprotoGateway as GatewayModule,
  },
];
