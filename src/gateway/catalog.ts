/**
 * Every gateway module Hermod ships, in listing order. A new gateway adds one line here and one in
 * src/config/schema/gateway.ts (its config schema).
 */
import { mqttsnGateway } from './mqttsn/index.js';
import { stompGateway } from './stomp/index.js';
import type { GatewayModule } from './types.js';

/** Gateway modules, in listing order. */
export const GATEWAY_MODULES: readonly GatewayModule[] = [
  stompGateway as GatewayModule,
  mqttsnGateway as GatewayModule,
];
