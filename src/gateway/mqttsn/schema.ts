/** `gateway.mqttsn { ... }`: the MQTT-SN gateway's config (EMQX 5.8 keys and defaults). */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { Bool, Duration, Int } from '../../config/schema/fields.js';
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
    qos3_identity: Type.Optional(
      Type.Object(
        {
          clientid: Type.String({ minLength: 1, description: 'Client id the publishes are authorized as.' }),
          username: Type.Optional(Type.String({ description: 'Username the publishes are authorized as.' })),
        },
        {
          additionalProperties: false,
          description:
            'When the gateway authenticates clients, QoS −1 publishes from clients that are not connected are dropped unless this anonymous identity is set; they are then authorized (ACL) as it. Without authentication they are authorized as an anonymous client.',
          'x-hermod': true,
        },
      ),
    ),
    max_clients_per_source: Int(
      64,
      'Clients (and handshakes) one source IP address may hold at once; more get CONNACK 0x01 "rejected: congestion". 0: no limit.',
      { minimum: 0 },
    ),
    max_keepalive: Duration('1h', {
      description:
        'Longest keepalive duration honoured: a CONNECT asking for more is held to this (the client is disconnected after 1.5 times it without a message).',
      hermod: true,
    }),
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
    | 'gateway_id'
    | 'broadcast'
    | 'enable_qos3'
    | 'subs_resume'
    | 'predefined'
    | 'qos3_identity'
    | 'max_clients_per_source'
    | 'max_keepalive'
  >;

/** The MQTT-SN 1.2 gateway's name, listener types and schema (no code: the config layer and listings read this). */
export const mqttsnDescriptor: GatewayDescriptor = {
  name: 'mqttsn',
  protocol: 'mqtt-sn',
  description: 'MQTT-SN 1.2 gateway',
  listenerTypes: ['udp', 'dtls'],
  authnBackends: ['password_based:http'],
  schema: MqttSnConfigSchema,
};
