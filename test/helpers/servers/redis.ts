/** A private redis-server for a test file (no persistence, temp dir). */
import { freePort, type ServerProcess, startProcess, tempDir } from './common.js';

/** Starts redis-server on a free loopback port. */
export async function startRedis(): Promise<ServerProcess> {
  const port = await freePort();
  const dir = tempDir('redis');
  return startProcess(
    'redis-server',
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
    ],
    port,
    dir,
  );
}
