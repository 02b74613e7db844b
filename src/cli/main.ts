/** The `hermod` command: start | stop | version | ctl | plugin. */
import { VERSION } from '../version.js';

const USAGE = `Usage: hermod <command>

Commands:
  start [--config <file>]   run a broker node in the foreground (also -c <file>, or HERMOD_CONFIG);
                            --workers N runs N nodes of one cluster sharing the ports (docs/cluster.md)
  stop [--data-dir <dir>]   stop the running node gracefully and wait for it to exit
  ctl <command> [args]      manage the running node (hermod ctl help for the commands)
  plugin new <Name>         scaffold a TypeScript plugin project in ./<Name>
  migrate emqx4 <etc-dir>   write the Hermod config for an EMQX 3.x/4.x etc/ directory (--help for options)
  version                   print the version
`;

/**
 * Runs the CLI with argv (without node and script). Resolves to the exit code. Each command's module is
 * loaded when it runs: `start` (the broker) then does not load the ctl client, and `ctl` does not load the
 * broker (`hermod ctl` went from loading the whole node to the HTTP client alone).
 */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return (await import('./start.js')).start(argv.slice(1));
    case 'stop':
      return (await import('./stop.js')).stop(argv.slice(1));
    case 'ctl':
      return (await import('./ctl.js')).ctl(argv.slice(1));
    case 'plugin':
      return (await import('./plugin-scaffold.js')).pluginCli(argv.slice(1));
    case 'migrate':
      // Loaded on demand: it pulls in every access provider's schema.
      return (await import('./migrate.js')).migrate(argv.slice(1));
    case 'version':
    case '--version':
      process.stdout.write(`hermod ${VERSION}\n`);
      return 0;
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 1;
  }
}
