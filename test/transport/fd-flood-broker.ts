/**
 * A broker with the REST API for the descriptor-flood test, run as a child process under a low
 * `ulimit -n`: prints one JSON line with its ports, logs at warn to stdout, stops on SIGTERM.
 */
import { fdBudget } from '../../src/transport/fd-reserve.js';
import { startBroker } from '../helpers/broker.js';

const b = await startBroker({ api: true });
// A short log interval, so the test sees the summary line without waiting ten seconds.
fdBudget.configure({ logIntervalMs: 500 });
process.stdout.write(
  `${JSON.stringify({ ready: true, port: b.port, apiUrl: b.apiUrl, threshold: fdBudget.threshold })}\n`,
);
process.on('SIGTERM', () => {
  void b.stop().then(() => process.exit(0));
});
