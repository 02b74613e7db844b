/**
 * A broker with the REST API for the descriptor-flood test, run as a child process: once started it lowers
 * its own soft descriptor limit to FD_FLOOD_LIMIT (util-linux prlimit), prints one JSON line with its
 * ports, logs at warn to stdout, stops on SIGTERM. The limit is lowered after start-up because loading the
 * broker's modules opens many files at once, which a 200-descriptor process cannot do.
 */
import { execFileSync } from 'node:child_process';
import { fdBudget } from '../../src/transport/fd-reserve.js';
import { startBroker } from '../helpers/broker.js';

// The test runner also loads every file under test/: do nothing unless fd-reserve.test.ts started us.
if (process.env.FD_FLOOD_CHILD === '1') {
  const b = await startBroker({ api: true });
  const limit = process.env.FD_FLOOD_LIMIT ?? '200';
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}:`]);
  // Re-reads the (now lower) limit; a short log interval, so the test sees the summary line without
  // waiting ten seconds.
  fdBudget.configure({ logIntervalMs: 500 });
  const ready = { ready: true, port: b.port, apiUrl: b.apiUrl, threshold: fdBudget.threshold };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.on('SIGTERM', () => {
    void b.stop().then(() => process.exit(0));
  });
}
