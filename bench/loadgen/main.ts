/**
 * The load generator process: runs one job (a scenario variant against one broker) and reports a
 * RunResult over IPC (or as JSON on stdout when started by hand). The orchestrator pins it to its own core.
 *
 *   node dist/bench/loadgen/main.js '<Job as JSON>'
 */
import type { Job, RunResult } from '../types.js';
import { runConnections } from './connections.js';
import { runRetained } from './retained.js';
import { runTraffic } from './traffic.js';

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as Job;
  let result: RunResult;
  try {
    const spec = job.variant.spec;
    if (spec.kind === 'traffic') result = await runTraffic(job, spec);
    else if (spec.kind === 'connections') result = await runConnections(job, spec);
    else result = await runRetained(job, spec);
  } catch (err) {
    result = {
      broker: job.broker,
      variant: job.variant.id,
      scenario: job.variant.scenario,
      status: 'error',
      problems: [(err as Error).message],
      notes: [],
      seconds: 0,
    };
  }
  result.at = new Date().toISOString();
  if (process.send !== undefined) {
    process.send(result, () => process.exit(0));
  } else {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}

void main();
