/**
 * `plugins { … }`: where plugins live and which are enabled, with EMQX's key names. The section is open:
 * a plugin's own keys (and keys of plugin support still to come) pass unchecked.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Str } from './fields.js';

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
      'plugins',
      'Directory plugin packages are installed to (relative to the working directory).',
    ),
    states: Type.Array(PluginState, {
      default: [],
      description: 'Installed plugins in start order, each enabled or not.',
    }),
  },
  {
    additionalProperties: true,
    default: {},
    description: 'Plugins (open: plugin-specific keys are accepted as they are).',
  },
);
