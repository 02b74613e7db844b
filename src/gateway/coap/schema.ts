/** `gateway.coap { ... }`: the CoAP gateway's config (EMQX 5.8 keys and defaults). */
import type { StaticDecode } from '@sinclair/typebox';
import { Bool, Duration, Enum } from '../../config/schema/fields.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../config/schema/gateway-common.js';
import type { GatewayDescriptor } from '../types.js';

const QOS_CHOICES = ['qos0', 'qos1', 'qos2', 'coap'];

/** Schema of gateway.coap. */
export const CoapConfigSchema = GatewayEntry(
  {
    ...gatewayCommonFields({}),
    heartbeat: Duration('30s', {
      description:
        'Connection mode: a client that sends no request for about 1.5 times this is closed (PUT /mqtt/connection keeps it alive).',
    }),
    connection_required: Bool(
      false,
      'Require POST /mqtt/connection (client id, credentials, token) before any other request.',
    ),
    notify_type: Enum(
      ['non', 'con', 'qos'],
      'qos',
      'Message type of Observe notifications: non, con, or by the message QoS (0 ⇒ NON, 1/2 ⇒ CON).',
    ),
    subscribe_qos: Enum(
      QOS_CHOICES,
      'coap',
      'QoS of Observe subscriptions without a qos query; coap = 0 for NON requests, 1 for CON.',
    ),
    publish_qos: Enum(
      QOS_CHOICES,
      'coap',
      'QoS of publishes without a qos query; coap = 0 for NON requests, 1 for CON.',
    ),
    listeners: gatewayListeners({ udp: 5683, dtls: 5684 }),
  },
  'The CoAP gateway (RFC 7252 with Observe and block-wise transfer).',
);

/** The decoded CoAP gateway config. */
export type CoapConfig = GatewayCommonConfig &
  Pick<
    StaticDecode<typeof CoapConfigSchema>,
    'heartbeat' | 'connection_required' | 'notify_type' | 'subscribe_qos' | 'publish_qos'
  >;

/** The CoAP gateway's name, listener types and schema (no code: the config layer and listings read this). */
export const coapDescriptor: GatewayDescriptor = {
  name: 'coap',
  protocol: 'coap',
  description: 'CoAP gateway',
  listenerTypes: ['udp', 'dtls'],
  schema: CoapConfigSchema,
};
