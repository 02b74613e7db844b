/** The `hermod` command: start | stop | version | ctl. */
import { resolveConfig } from '../config/resolve.js';
import { logger } from '../log.js';
import { HermodNode } from '../node.js';
import { VERSION } from '../version.js';

const USAGE = `Usage: hermod <command>

Commands:
  start [--config <file>]   run a broker node in the foreground
  version                   print the version
`;

/** Runs the CLI with argv (without node and script). Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'version':
    case '--version':
      process.stdout.write(`hermod ${VERSION}\n`);
      return 0;
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 1;
  }
}

async function start(): Promise<number> {
  const resolved = resolveConfig({});
  if (!resolved.ok) {
    for (const e of resolved.errors)
      process.stderr.write(`config error: ${e.path}: ${e.message} (got ${JSON.stringify(e.value)})\n`);
    return 1;
  }
  const node = new HermodNode(resolved.value);
  try {
    await node.start();
  } catch (err) {
    process.stderr.write(`hermod: failed to start: ${(err as Error).message}\n`);
    await node.stop().catch(() => undefined);
    return 1;
  }
  const ports = [...node.listeners.keys()].map((id) => `${id} on ${node.port(id)}`).join(', ');
  process.stdout.write(`Hermod ${VERSION} is running (${node.name}): ${ports}\n`);
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      node.stop().then(
        () => resolve(0),
        (err) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
