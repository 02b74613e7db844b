/**
 * `hermod ctl plugins …` (EMQX's verbs, with its JSON outputs) plus 4.x's `load | unload | reload | list NAME`,
 * and the commands plugins add to `hermod ctl`. Each verb is one call to the node's REST API.
 */
import type { NodeApi } from './node-api.js';
import { NodeApiError } from './node-api.js';

type Row = Record<string, unknown>;

/** Prints text, or the JSON value when --json. */
export type Print = (text: string | string[], value: unknown) => void;

export const PLUGINS_USAGE = [
  'plugins list                           # List all installed plugins',
  'plugins list <Name>                    # Show the installed version of a plugin',
  'plugins describe <Name-Vsn>            # Describe an installed plugin',
  'plugins allow <Name-Vsn>               # Allow an API upload of the package',
  'plugins disallow <Name-Vsn>            # Disallow an API upload of the package',
  'plugins install <Name-Vsn>             # Install a package placed in plugins.install_dir',
  'plugins uninstall <Name-Vsn>           # Uninstall a stopped and disabled plugin',
  'plugins start <Name-Vsn>               # Start a plugin',
  'plugins stop <Name-Vsn>                # Stop a plugin',
  'plugins restart <Name-Vsn>             # Restart a plugin',
  'plugins disable <Name-Vsn>             # Disable auto-boot',
  'plugins enable <Name-Vsn> [Position]   # Enable auto-boot at front | rear | before <Other-Vsn> | after <Other-Vsn>',
  'plugins load <Name>                    # Start and enable a plugin',
  'plugins unload <Name>                  # Stop and disable a plugin',
  'plugins reload <Name>                  # Restart a plugin (EMQX 4.x: unload, then load)',
];

const enc = encodeURIComponent;

/** Runs a plugins verb; false when the arguments fit no verb (the usage is printed by the caller). */
export async function pluginsCommand(api: NodeApi, args: string[], print: Print): Promise<boolean> {
  const [verb, id, ...rest] = args;
  if (verb === 'list' && args.length <= 2) {
    const rows = (await api.call('GET', '/plugins')).body as Row[];
    const shown =
      id === undefined ? rows : rows.filter((r) => r.name === id || `${r.name}-${r.rel_vsn}` === id);
    print(JSON.stringify(shown, null, 2), shown);
    return true;
  }
  if (id === undefined) return false;
  if (verb === 'describe' && rest.length === 0) {
    const r = (await api.call('GET', `/plugins/${enc(id)}`)).body as Row;
    print(JSON.stringify(r, null, 2), r);
    return true;
  }
  const action = async (name: string, run: () => Promise<unknown>) => {
    let out: Row;
    try {
      await run();
      out = { action: verb, name_vsn: name, result: 'ok' };
    } catch (err) {
      if (!(err instanceof NodeApiError) || err.status === 0) throw err;
      out = { action: verb, name_vsn: name, result: 'not_ok', cause: err.message.replace(/^[A-Z_]+: /, '') };
    }
    print(JSON.stringify(out), out);
    if (out.result !== 'ok') throw new NodeApiError(String(out.cause), 400, 'not_ok');
  };
  if ((verb === 'allow' || verb === 'disallow') && rest.length === 0) {
    await action(id, () => api.call('POST', `/plugins/${enc(id)}/${verb}`));
    return true;
  }
  if (['install', 'uninstall', 'start', 'stop', 'restart', 'disable'].includes(verb!) && rest.length === 0) {
    await action(id, () => api.call('POST', `/plugins/${enc(id)}/ctl/${verb}`, {}));
    return true;
  }
  if (verb === 'enable') {
    const position = positionOf(rest);
    if (position === false) return false;
    await action(id, () =>
      api.call('POST', `/plugins/${enc(id)}/ctl/enable`, position === undefined ? {} : { position }),
    );
    return true;
  }
  // EMQX 4.x's verbs, by plugin name (the installed version is found).
  if ((verb === 'load' || verb === 'unload' || verb === 'reload') && rest.length === 0) {
    const rows = (await api.call('GET', '/plugins')).body as Row[];
    const row = rows.find((r) => r.name === id || `${r.name}-${r.rel_vsn}` === id);
    const nameVsn = row === undefined ? id : `${row.name}-${row.rel_vsn}`;
    await action(nameVsn, () =>
      verb === 'reload'
        ? api.call('POST', `/plugins/${enc(nameVsn)}/ctl/restart`, {})
        : api.call('PUT', `/plugins/${enc(nameVsn)}/${verb === 'load' ? 'start' : 'stop'}`),
    );
    return true;
  }
  return false;
}

/** EMQX's enable positions: none, front, rear, before Other, after Other. false when malformed. */
function positionOf(rest: string[]): string | undefined | false {
  if (rest.length === 0) return undefined;
  if (rest.length === 1 && (rest[0] === 'front' || rest[0] === 'rear')) return rest[0];
  if (rest.length === 2 && (rest[0] === 'before' || rest[0] === 'after')) return `${rest[0]}:${rest[1]}`;
  return false;
}

/** Runs a command a plugin added; resolves to the exit code, or undefined when no running plugin has it. */
export async function pluginCtlCommand(
  api: NodeApi,
  name: string,
  args: string[],
  print: Print,
): Promise<number | undefined> {
  let list: Array<{ command: string }>;
  try {
    list = (await api.call('GET', '/plugin_api/_ctl')).body as Array<{ command: string }>;
  } catch {
    return undefined;
  }
  if (!list.some((c) => c.command === name)) return undefined;
  try {
    const r = (await api.call('POST', `/plugin_api/_ctl/${enc(name)}`, { args })).body as { output: string };
    print(r.output, r);
    return 0;
  } catch (err) {
    // The command exists, so its failure is the answer (not "unknown command").
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}
