/**
 * `durability { ... }`: what an acknowledgement promises about the embedded store. A Hermod key: EMQX's
 * `durable_sessions` names a different design (a replicated message log), so its keys are not reused here.
 */
import { Duration, Enum, Section } from './fields.js';

export const DurabilitySchema = Section(
  {
    mode: Enum(
      ['sync', 'periodic', 'off'],
      'sync',
      'sync: persistent-session state, their queued QoS 1/2 messages and retained messages are committed (one fsync per batch) before the PUBACK/PUBREC of the publish that changed them; periodic: committed every checkpoint_interval, acks not held; off: sessions written only at graceful stop, retained messages within 50 ms.',
    ),
    checkpoint_interval: Duration('1s', {
      description: 'How often mode = periodic commits changed sessions and retained messages.',
    }),
  },
  'Durability of acknowledged messages and persistent sessions across crashes (kill -9, power loss). Read at start.',
);
