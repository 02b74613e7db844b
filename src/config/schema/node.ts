/** `node { ... }` and `log { ... }`. */
import { Type } from '@sinclair/typebox';
import { Bool, ByteSize, Duration, Enum, Int, NamedMap, Section, Str } from './fields.js';

export const NodeSchema = Section(
  {
    name: Str(
      'hermod@127.0.0.1',
      'Node name, used in $SYS topics, the API and message ids; unique in a cluster.',
    ),
    data_dir: Str(
      'data',
      'Directory of the embedded store and runtime files (relative to the working directory).',
    ),
    listen_host: Type.String({
      default: '',
      description:
        'Address taken by listeners whose bind names every interface (0.0.0.0, :: or a bare port): lets several nodes on one machine each listen on their own loopback address with the same binds. Empty: binds as written. Read at start.',
      'x-hermod': true,
    }),
    cookie: Str('hermodsecretcookie', 'Kept for compatibility (cluster nodes authenticate to NATS instead).'),
    process_limit: Int(2097152, 'Kept for compatibility.'),
    max_ports: Int(1048576, 'Kept for compatibility.'),
    profile: Type.Union([Type.Literal('prod'), Type.Literal('dev')], {
      default: 'prod',
      description:
        'prod for production; dev lets development-only plugins (the reloader) start without being forced.',
      hermod: true,
    }),
  },
  'This node.',
);

const LEVELS = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
  'all',
  'none',
];

export const LogSchema = Section(
  {
    console: Section(
      {
        enable: Bool(true, 'Log to standard output.'),
        level: Enum(LEVELS, 'warning', 'Lowest level logged.'),
        formatter: Enum(['text', 'json'], 'text', 'Line format.'),
        time_offset: Str('system', 'Kept for compatibility (timestamps are UTC ISO 8601).'),
      },
      'Console log handler.',
    ),
    file: NamedMap(
      Section(
        {
          enable: Bool(true, 'Write this log file.'),
          level: Enum(LEVELS, 'warning', 'Lowest level logged.'),
          path: Str('log/hermod.log', 'File path (relative to the working directory).'),
          rotation_count: Int(10, 'Rotated files kept.', { minimum: 1, maximum: 128 }),
          rotation_size: ByteSize('50MB', { description: 'Rotate when the file reaches this size.' }),
          formatter: Enum(['text', 'json'], 'text', 'Line format.'),
          time_offset: Str('system', 'Kept for compatibility.'),
        },
        'A rotating log file.',
      ),
      'File log handlers by name.',
    ),
    throttling: Section(
      {
        time_window: Duration('1m', {
          description:
            'Repeated warnings of one kind are written once per window, then one line with the count suppressed. 0s: no throttling.',
        }),
      },
      'Log throttling.',
    ),
  },
  'Logging.',
);
