/** `gateway.lwm2m { ... }`: the LwM2M gateway's config (EMQX 5.8 keys and defaults). */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { Duration, Enum, Section, Str } from '../../config/schema/fields.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../config/schema/gateway-common.js';
import type { GatewayDescriptor } from '../types.js';

/** One translator: the MQTT topic (under the client's mountpoint) and QoS of one kind of message. */
const Translator = (topic: string, description: string) =>
  Section(
    {
      topic: Str(topic, 'Topic, appended to the mountpoint.'),
      qos: Type.Integer({ default: 0, minimum: 0, maximum: 2, description: 'QoS.' }),
    },
    description,
  );

/** Schema of gateway.lwm2m. */
export const Lwm2mConfigSchema = GatewayEntry(
  {
    ...gatewayCommonFields({ mountpoint: 'lwm2m/${endpoint_name}/' }),
    xml_dir: Str(
      '',
      'Directory of OMA object definition XML files, added to (or overriding by object id) the shipped objects 0–7.',
    ),
    lifetime_min: Duration('15s', { description: 'Shortest registration lifetime a device may ask for.' }),
    lifetime_max: Duration('86400s', {
      description: 'Longest registration lifetime; also the lifetime of a device registering with lt=0.',
    }),
    qmode_time_window: Duration('22s', {
      description:
        'Queue mode: a command arriving this long after the device last spoke is queued until it next updates.',
    }),
    auto_observe: Type.Union([Type.Boolean(), Type.Array(Type.String())], {
      default: false,
      description:
        'Observe the registered objects (true: every object but 0,1,2,4,5,6,7,9,15; a list: those paths of it).',
    }),
    update_msg_publish_condition: Enum(
      ['always', 'contains_object_list'],
      'contains_object_list',
      'Publish an update message for every update, or only for one that carries an object list.',
    ),
    translators: Section(
      {
        command: Translator('dn/#', 'Commands to devices (subscribed per device).'),
        response: Translator('up/resp', 'Answers to commands.'),
        notify: Translator('up/notify', 'Observe notifications.'),
        register: Translator('up/resp', 'Registrations.'),
        update: Translator('up/resp', 'Registration updates.'),
      },
      'MQTT topics of LwM2M messages.',
    ),
    listeners: gatewayListeners({ udp: 5783, dtls: 5784 }),
  },
  'The LwM2M gateway (OMA LwM2M 1.0/1.1 over CoAP, JSON commands on MQTT).',
);

type Decoded = StaticDecode<typeof Lwm2mConfigSchema>;

/** The decoded LwM2M gateway config. */
export type Lwm2mConfig = GatewayCommonConfig &
  Pick<
    Decoded,
    | 'xml_dir'
    | 'lifetime_min'
    | 'lifetime_max'
    | 'qmode_time_window'
    | 'auto_observe'
    | 'update_msg_publish_condition'
    | 'translators'
  >;

/** A translator's name. */
export type TranslatorName = keyof Decoded['translators'];

/** The LwM2M gateway's name, listener types and schema (no code). */
export const lwm2mDescriptor: GatewayDescriptor = {
  name: 'lwm2m',
  protocol: 'lwm2m',
  description: 'LwM2M gateway',
  listenerTypes: ['udp', 'dtls'],
  authnBackends: ['password_based:http'],
  schema: Lwm2mConfigSchema,
};
