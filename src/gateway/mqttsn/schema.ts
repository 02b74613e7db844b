/** `gateway.mqttsn { ... }`: the MQTT-SN gateway's config (EMQX 5.8 keys and defaults). */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { Bool, Int } from '../../config/schema/fields.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../config/schema/gateway-common.js';
import type { GatewayDescriptor } from '../types.js';

const Predefined = Type.Object(
  {
    // [Q] EMQX 5.8.9's schema allows 1..1024 while its docs say 1..65535: Hermod follows the docs, and
    // registered ids (from 1025) skip any predefined id above 1024 (test: mqttsn-subscribe "predefined 2000").
    id: Type.Integer({ minimum: 1, maximum: 65535, description: 'Topic id.' }),
    topic: Type.String({ minLength: 1, description: 'Topic name.' }),
  },
  { additionalProperties: false },
);

export const MqttSnConfigSchema = GatewayEntry(
  {
    ...gatewayCommonFields({ clientinfoOverride: { clientid: '${ConnInfo.clientid}' } }),
    gateway_id: Int(1, 'Gateway id sent in GWINFO and ADVERTISE.', { minimum: 0, maximum: 255 }),
    broadcast: Bool(false, 'Broadcast ADVERTISE every 15 minutes to every interface on port 1884.'),
    enable_qos3: Bool(
      true,
      'Accept QoS −1 publishes (predefined or short topics) from clients not connected.',
    ),
    subs_resume: Bool(false, 'On session resume, REGISTER every subscribed topic before replaying messages.'),
    predefined: Type.Array(Predefined, { default: [], description: 'Topic ids every client may use.' }),
    listeners: gatewayListeners({ udp: 1884, dtls: 1885 }),
  },
  'The MQTT-SN 1.2 gateway.',
);

/** The decoded MQTT-SN gateway config. */
export type MqttSnConfig = GatewayCommonConfig &
  Pick<
    StaticDecode<typeof MqttSnConfigSchema>,
    'gateway_id' | 'broadcast' | 'enable_qos3' | 'subs_resume' | 'predefined'
  >;

/** The MQTT-SN 1.2 gateway's name, listener types and schema (no code: the config layer and listings read this). */
export const mqttsnDescriptor: GatewayDescriptor = {
  name: 'mqttsn',
  protocol: 'mqtt-sn',
  description: 'MQTT-SN 1.2 gateway',
  listenerTypes: ['udp', 'dtls'],
  schema: MqttSnConfigSchema,
};
