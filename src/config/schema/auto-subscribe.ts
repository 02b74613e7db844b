/** `auto_subscribe { … }`: subscriptions made for every MQTT client when it connects (EMQX 5 keys). */
import { Type } from '@sinclair/typebox';
import { Int, Section } from './fields.js';

const AutoTopic = Type.Object(
  {
    topic: Type.String({
      minLength: 1,
      description:
        'Topic filter; ${clientid}, ${username}, ${host}, ${port} (or 4.x %c, %u) are filled in. A topic whose placeholder has no value is skipped.',
    }),
    qos: Int(0, 'QoS of the subscription.', { minimum: 0, maximum: 2 }),
    rh: Int(0, 'Retain Handling (0 send retained, 1 only when new, 2 never).', { minimum: 0, maximum: 2 }),
    rap: Int(0, 'Retain As Published.', { minimum: 0, maximum: 1 }),
    nl: Int(0, 'No Local.', { minimum: 0, maximum: 1 }),
  },
  { additionalProperties: false },
);

export const AutoSubscribeSchema = Section(
  {
    topics: Type.Array(AutoTopic, { default: [], description: 'Topics every MQTT client is subscribed to.' }),
    redis: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            'Per-user subscriptions from a Redis hash of topic → QoS (EMQX 2.x/3.x mqtt_subs:<username>): the redis connection keys of an authenticator plus cmd (default "HGETALL mqtt_subs:${username}") and enable.',
        },
      ),
    ),
  },
  'Subscriptions made for each MQTT client when it connects.',
);
