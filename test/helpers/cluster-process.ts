/**
 * Cluster nodes as their own `hermod start` processes, for fault tests that must kill (SIGKILL) or freeze
 * (SIGSTOP) one node without touching the others: an in-process node shares the test's event loop and
 * cannot die or stall alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectClient, end, sleep } from './clients.js';
import { freePort } from './servers/common.js';

const BIN = fileURLToPath(new URL('../../../bin/hermod.js', import.meta.url));

export interface ChildNode {
  name: string;
  /** MQTT over TCP port on 127.0.0.1. */
  port: number;
  child: ChildProcess;
  /** What the node wrote so far (its console log and any error), stdout and stderr together. */
  output(): string;
}

export interface ChildNodeOptions {
  /** `cluster.name` (default `fo`). */
  cluster?: string;
  /** `cluster.node_down_after` (default `2s`, as the in-process cluster helper). */
  nodeDownAfter?: string;
  /** `log.console.level` (default `warning`). */
  logLevel?: string;
}

/**
 * Starts `hermod start` on a config file written in `dir` (its data dir is there too) and resolves once its
 * MQTT port answers. The node has no WebSocket listener and no dashboard.
 */
export async function startChildNode(
  dir: string,
  name: string,
  natsUrl: string,
  opts: ChildNodeOptions = {},
): Promise<ChildNode> {
  const port = await freePort();
  const short = name.split('@')[0]!;
  const file = join(dir, `${short}.conf`);
  writeFileSync(
    file,
    [
      `node { name = "${name}", data_dir = "${join(dir, short)}" }`,
      `cluster { name = "${opts.cluster ?? 'fo'}", heartbeat_interval = "300ms", node_down_after = "${opts.nodeDownAfter ?? '2s'}" }`,
      `cluster.nats { servers = ["${natsUrl}"], request_timeout = "5s" }`,
      `listeners.tcp.default { bind = "127.0.0.1:${port}" }`,
      'listeners.ws.default { enable = false }',
      'dashboard.listeners.http { enable = false }',
      `log.console { level = ${opts.logLevel ?? 'warning'} }`,
    ].join('\n'),
  );
  // node --test marks its children with NODE_TEST_CONTEXT; cleared so the CLI runs as a plain process.
  const child = spawn(process.execPath, [BIN, 'start', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_TEST_CONTEXT: '' },
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  for (let i = 0; i < 200; i++) {
    try {
      const c = await connectClient(port, { connectTimeout: 1000 });
      await end(c, true);
      return { name, port, child, output: () => output };
    } catch {
      if (child.exitCode !== null) break;
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`node ${name} did not start: ${output}`);
}

/** SIGKILL (a crash: nothing is written, no DISCONNECT, no leave), resolved once the process is gone. */
export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
