/**
 * `plugins { … }`: where plugins live and which are enabled, with EMQX's key names. The section is open:
 * a plugin's own keys (and keys of plugin support still to come) pass unchecked.
 */
import { Type } from '@sinclair/typebox';
import { Bool, ByteSize, Duration, Str } from './fields.js';

const PluginState = Type.Object(
  {
    name_vsn: Type.String({ minLength: 1, description: 'The plugin, as NAME-VSN.' }),
    enable: Bool(true, 'Start this plugin.'),
  },
  { additionalProperties: true, description: 'One installed plugin and whether it runs.' },
);

export const PluginsSchema = Type.Object(
  {
    install_dir: Str(
      '',
      'Directory plugin packages are installed to; empty means "plugins" under node.data_dir.',
    ),
    shipped_dir: Type.String({
      default: '',
      description:
        'Directory of plugin packages shipped with Hermod (NAME-VSN.tar.gz), each installed stopped at boot unless it was installed once before; empty means, for `hermod start`, the packages `npm install` packed into dist/plugins.',
      hermod: true,
    }),
    states: Type.Array(PluginState, {
      default: [],
      description:
        'Installed plugins in start order (also the hook order at equal priority), each enabled or not.',
    }),
    max_unpacked_size: ByteSize('100MB', {
      description: 'A package whose files add up to more than this once unpacked is refused.',
      hermod: true,
    }),
    slow_hook_threshold: Duration('100ms', {
      description: 'A plugin hook callback that takes longer than this is logged and counted as slow.',
      hermod: true,
    }),
  },
  {
    additionalProperties: true,
    default: {},
    description: 'Plugins (open: plugin-specific keys are accepted as they are).',
  },
);
