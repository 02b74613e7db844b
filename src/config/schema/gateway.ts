/**
 * `gateway { <name> { ... } }`: one optional entry per gateway of the catalogue; a gateway is loaded when
 * its entry exists. Each gateway declares its schema next to its code (src/gateway/<name>/schema.ts, a
 * schema-only module) and is listed once, in src/gateway/catalog.ts; this file only composes them.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { GATEWAY_CATALOG } from '../../gateway/catalog.js';

/** Schema of the `gateway` root key. */
export const GatewaySchema = Type.Object(
  Object.fromEntries(GATEWAY_CATALOG.map((m) => [m.name, Type.Optional(m.schema)])) as Record<
    string,
    TSchema
  >,
  {
    additionalProperties: false,
    default: {},
    description: 'Protocol gateways (STOMP, MQTT-SN, …), by name.',
  },
);
