/** The node's component lifecycle: one start order, the exact reverse at stop, clean-up after a failure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Component, Lifecycle, named } from '../../src/node/component.js';

function recorder(log: string[], name: string, failStart = false): Component {
  return named(name, {
    start: async () => {
      log.push(`start ${name}`);
      if (failStart) throw new Error(`${name} cannot start`);
    },
    stop: () => {
      log.push(`stop ${name}`);
    },
  });
}

describe('component lifecycle', () => {
  it('stops components in the reverse of their start order', async () => {
    const log: string[] = [];
    const lc = new Lifecycle(['store', 'access', 'listeners', 'api'].map((n) => recorder(log, n)));
    await lc.start();
    await lc.stop();
    assert.deepEqual(log, [
      'start store',
      'start access',
      'start listeners',
      'start api',
      'stop api',
      'stop listeners',
      'stop access',
      'stop store',
    ]);
  });

  it('after a failed start, stops what started (the failing one included) and nothing after it', async () => {
    const log: string[] = [];
    const lc = new Lifecycle([recorder(log, 'a'), recorder(log, 'b', true), recorder(log, 'c')]);
    await assert.rejects(lc.start(), /b cannot start/);
    await lc.stop();
    assert.deepEqual(log, ['start a', 'start b', 'stop b', 'stop a']);
  });

  it('keeps stopping the others when one fails to stop, and stops each only once', async () => {
    const log: string[] = [];
    const broken: Component = {
      name: 'broken',
      start: () => undefined,
      stop: () => {
        throw new Error('boom');
      },
    };
    const lc = new Lifecycle([recorder(log, 'a'), broken, recorder(log, 'c')]);
    await lc.start();
    await lc.stop();
    await lc.stop();
    assert.deepEqual(log, ['start a', 'start c', 'stop c', 'stop a']);
  });
});
