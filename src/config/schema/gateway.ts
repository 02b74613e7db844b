/**
 * `gateway { <name> { ... } }`: one optional entry per gateway module; a gateway is loaded when its entry
 * exists. Each gateway declares its own schema next to its code (src/gateway/<name>/schema.ts); this file
 * only composes them. A new gateway adds one line.
 */
import { Type } from '@sinclair/typebox';
import { MqttSnConfigSchema } from '../../gateway/mqttsn/schema.js';
import { StompConfigSchema } from '../../gateway/stomp/schema.js';

/** Schema of the `gateway` root key. */
export const GatewaySchema = Type.Object(
  {
    stomp: Type.Optional(StompConfigSchema),
    mqttsn: Type.Optional(MqttSnConfigSchema),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Protocol gateways (STOMP, MQTT-SN, …), by name.',
  },
);
