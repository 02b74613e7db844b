/** `alarm { … }`: what happens when an alarm is raised and how long cleared alarms are kept. */
import { Type } from '@sinclair/typebox';
import { Duration, Enum, Int, Section } from './fields.js';

export const AlarmSchema = Section(
  {
    actions: Type.Array(Enum(['log', 'publish'], 'log', 'An alarm action.'), {
      default: ['log', 'publish'],
      description:
        'What an alarm change does besides the hooks: "log" writes a warning line, "publish" sends it on $SYS/brokers/<node>/alarms/activate|deactivate.',
    }),
    size_limit: Int(1000, 'Most cleared alarms kept for the API.', { minimum: 1, maximum: 3000 }),
    validity_period: Duration('24h', { description: 'How long a cleared alarm is kept for the API.' }),
  },
  'Alarms.',
);
