/**
 * The body of a bcrypt worker thread (see bcrypt-pool.ts): checks and hashes passwords with bcryptjs'
 * synchronous calls, one job at a time, so the broker's event loop never waits for one.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { BcryptJob, BcryptReply } from './bcrypt-pool.js';

function run(job: BcryptJob): BcryptReply {
  try {
    if (job.op === 'compare') {
      // A malformed stored hash makes bcryptjs throw: it cannot match.
      return { id: job.id, value: bcrypt.compareSync(job.password, job.hash) };
    }
    return { id: job.id, value: bcrypt.hashSync(job.password, bcrypt.genSaltSync(job.rounds)) };
  } catch (err) {
    return job.op === 'compare'
      ? { id: job.id, value: false }
      : { id: job.id, error: (err as Error).message ?? String(err) };
  }
}

parentPort?.on('message', (job: BcryptJob) => parentPort?.postMessage(run(job)));
