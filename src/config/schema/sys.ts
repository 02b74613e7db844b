/** `sys_topics { ... }`: the $SYS publisher. */
import { Bool, OptionalDuration, Section } from './fields.js';

export const SysTopicsSchema = Section(
  {
    sys_msg_interval: OptionalDuration('1m', {
      description: 'How often version, sysdescr, stats and metrics are published under $SYS/brokers/<node>/.',
    }),
    sys_heartbeat_interval: OptionalDuration('30s', {
      description: 'How often uptime and datetime are published.',
    }),
    sys_event_messages: Section(
      {
        client_connected: Bool(true, 'Publish $SYS/brokers/<node>/clients/<clientid>/connected.'),
        client_disconnected: Bool(true, 'Publish $SYS/brokers/<node>/clients/<clientid>/disconnected.'),
        client_subscribed: Bool(false, 'Publish $SYS/brokers/<node>/clients/<clientid>/subscribed.'),
        client_unsubscribed: Bool(false, 'Publish $SYS/brokers/<node>/clients/<clientid>/unsubscribed.'),
      },
      'Client event messages.',
    ),
  },
  'System topics.',
);
