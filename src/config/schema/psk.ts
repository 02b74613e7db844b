/** `psk_authentication { ... }`: pre-shared keys for DTLS (and EMQX's TLS-PSK) listeners. */
import { Bool, Int, Section, Str } from './fields.js';

export const PskAuthenticationSchema = Section(
  {
    enable: Bool(false, 'Accept PSK cipher suites on dtls listeners, with the keys of init_file.'),
    init_file: Str('', 'File of "<identity><separator><secret>" lines, read at start.'),
    separator: Str(':', 'What separates identity and secret on a line of init_file.'),
    chunk_size: Int(50, 'Kept for compatibility (EMQX imports init_file in chunks of this many lines).', {
      minimum: 1,
    }),
  },
  'Pre-shared keys (TLS-PSK) for dtls listeners.',
);
