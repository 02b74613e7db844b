/** `flapping_detect { ... }`: banning clients that connect and drop (or fail to log in) too often. */
import { Bool, Duration, Int, Section } from './fields.js';

export const FlappingDetectSchema = Section(
  {
    enable: Bool(false, 'Ban clients that connect, disconnect or fail to log in too often.'),
    window_time: Duration('1m', {
      description: 'The window in which connection events of one client id (or one address) are counted.',
    }),
    max_count: Int(
      15,
      'Events within window_time that get a client id banned; failed logins from one address count the same way.',
      { minimum: 1 },
    ),
    ban_time: Duration('5m', { description: 'How long a flapping client id (or address) stays banned.' }),
  },
  'Flapping detection.',
);
