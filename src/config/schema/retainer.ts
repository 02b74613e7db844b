/** `retainer { ... }`: retained messages, with EMQX 5 key names and defaults. */
import { Type } from '@sinclair/typebox';
import { Bool, ByteSize, Duration, Enum, Int, Section, Str } from './fields.js';

export const RetainerSchema = Section(
  {
    enable: Bool(true, 'Store and deliver retained messages.'),
    msg_expiry_interval: Duration('0s', {
      description: 'Expiry of retained messages without their own Message Expiry Interval; 0 = never.',
    }),
    msg_expiry_interval_override: Type.Union([Type.Literal('disabled'), Type.String()], {
      default: 'disabled',
      description: 'Force this expiry on every retained message ("disabled" or a duration).',
    }),
    allow_never_expire: Bool(true, 'Let a message with Message Expiry Interval 0 never expire.'),
    msg_clear_interval: Duration('0s', {
      description:
        'How often expired retained messages are swept; 0 = off (expired ones are still never delivered).',
    }),
    max_payload_size: ByteSize('1MB', {
      description: 'Retained messages with a larger payload are not stored.',
    }),
    stop_publish_clear_msg: Bool(
      false,
      'An empty retained message only deletes; it is not forwarded to subscribers.',
    ),
    delivery_rate: Str(
      '1000/s',
      'Retained messages delivered per second to one subscription (kept for compatibility).',
    ),
    max_publish_rate: Str('1000/s', 'Retained publishes stored per second (kept for compatibility).'),
    flow_control: Section(
      {
        batch_read_number: Int(0, 'Kept for compatibility.'),
        batch_deliver_number: Int(
          0,
          'Most retained messages offered to a subscription per round; 0 = as many as its queue takes. Either way the rest follow as the queue drains, never dropped.',
          { minimum: 0 },
        ),
      },
      'Retained delivery batching.',
    ),
    backend: Section(
      {
        type: Enum(['built_in_database'], 'built_in_database', 'Storage backend.'),
        storage_type: Enum(
          ['ram', 'disc'],
          'disc',
          'disc keeps retained messages in the embedded store across restarts (EMQX defaults to ram).',
        ),
        max_retained_messages: Int(
          0,
          'Most retained messages kept; 0 = unlimited. New topics beyond it are refused.',
          {
            minimum: 0,
          },
        ),
        enable: Bool(true, 'Kept for compatibility.'),
        index_specs: Type.Array(Type.Array(Type.Integer()), {
          default: [[1, 2, 3], [1, 3], [2, 3], [3]],
          description: 'Kept for compatibility.',
        }),
      },
      'Retained message storage.',
    ),
  },
  'Retained messages.',
);
