/**
 * A broker with the REST API for the descriptor-flood test, run as a child process under a low
 * `ulimit -n`: prints one JSON line with its ports, logs at warn to stdout, stops on SIGTERM.
 */
import { fdBudget } from '../../src/transport/fd-reserve.js';
import { startBroker } from '../helpers/broker.js';

// The test runner also loads every file under test/: do nothing unless fd-reserve.test.ts started us.
if (process.env.FD_FLOOD_CHILD === '1') {
  const b = await startBroker({ api: true });
  // A short log interval, so the test sees the summary line without waiting ten seconds.
  fdBudget.configure({ logIntervalMs: 500 });
  const ready = { ready: true, port: b.port, apiUrl: b.apiUrl, threshold: fdBudget.threshold };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.on('SIGTERM', () => {
    void b.stop().then(() => process.exit(0));
  });
}
