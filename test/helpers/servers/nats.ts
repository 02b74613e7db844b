/** A private nats-server with JetStream for a test file (temp store dir, free loopback port). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type ServerProcess, startProcess, tempDir } from './common.js';

/** Debian installs the server in /usr/sbin, which a non-root PATH may not list. */
const NATS_SERVER = '/usr/sbin/nats-server';

export interface NatsServer extends ServerProcess {
  /** `nats://127.0.0.1:<port>`, for `cluster.nats.servers`. */
  url: string;
}

export interface NatsOptions {
  /**
   * How long the server lets a write to a connection block before cutting it off as a slow consumer
   * (nats-server's default: 10s): slow-node tests shorten it so a frozen node is cut off after a short stall.
   */
  writeDeadline?: string;
}

/**
 * Starts nats-server with JetStream on a free port. The limits are the ones the cluster design asks for
 * (../shared/reference/cluster.md §4.2): a control line long enough for long MQTT topics, payloads above
 * the MQTT default max packet size plus the envelope.
 */
export async function startNats(opts: NatsOptions = {}): Promise<NatsServer> {
  const port = await freePort();
  const dir = tempDir('nats');
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${port}`,
      'max_payload: 8MB',
      'max_control_line: 32KB',
      'max_pending: 256MB',
      ...(opts.writeDeadline === undefined ? [] : [`write_deadline: "${opts.writeDeadline}"`]),
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      '',
    ].join('\n'),
  );
  const p = await startProcess('nats-server', NATS_SERVER, ['-c', conf], port, dir);
  const url = `nats://127.0.0.1:${port}`;
  const wrap = (s: ServerProcess): NatsServer => ({
    ...s,
    url,
    restart: async () => wrap(await s.restart()),
  });
  return wrap(p);
}
