import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hooks, STOP } from '../../src/broker/hooks.js';
import { Message } from '../../src/broker/message.js';

const msg = () => new Message('t', Buffer.from('x'), 0, 'c', false);

describe('hook engine', () => {
  it('runs callbacks by descending priority, ties in registration order', () => {
    const hooks = new Hooks();
    const order: string[] = [];
    hooks.add('message.publish', () => void order.push('low'), 1);
    hooks.add('message.publish', () => void order.push('high'), 100);
    hooks.add('message.publish', () => void order.push('mid-a'), 50);
    hooks.add('message.publish', () => void order.push('mid-b'), 50);
    hooks.runFold('message.publish', [], msg());
    assert.deepEqual(order, ['high', 'mid-a', 'mid-b', 'low']);
  });

  it('folds: ok replaces the accumulator, stop ends the chain with or without a value', () => {
    const hooks = new Hooks();
    const a = msg();
    const b = msg();
    const c = msg();
    hooks.add('message.publish', () => ({ ok: b }), 3);
    hooks.add('message.publish', (m) => (m === b ? { stop: c } : undefined), 2);
    hooks.add('message.publish', () => assert.fail('must not run after stop'), 1);
    assert.equal(hooks.runFold('message.publish', [], a), c);

    const h2 = new Hooks();
    h2.add('message.publish', () => STOP, 2);
    h2.add('message.publish', () => ({ ok: b }), 1);
    assert.equal(h2.runFold('message.publish', [], a), a);
  });

  it('stays synchronous until a callback returns a promise', async () => {
    const hooks = new Hooks();
    const a = msg();
    const b = msg();
    hooks.add('message.publish', () => undefined, 2);
    assert.equal(hooks.runFold('message.publish', [], a), a);
    hooks.add('message.publish', async () => ({ ok: b }), 1);
    const r = hooks.runFold('message.publish', [], a);
    assert.ok(r instanceof Promise);
    assert.equal(await r, b);
  });

  it('skips a failing callback and goes on', async () => {
    const hooks = new Hooks();
    const seen: string[] = [];
    hooks.add(
      'client.connected',
      () => {
        throw new Error('boom');
      },
      2,
    );
    hooks.add('client.connected', () => void seen.push('after'), 1);
    hooks.run('client.connected', {} as never, {} as never);
    assert.deepEqual(seen, ['after']);
    const h2 = new Hooks();
    h2.add(
      'client.connected',
      async () => {
        throw new Error('async boom');
      },
      2,
    );
    h2.add('client.connected', () => void seen.push('after-async'), 1);
    await h2.run('client.connected', {} as never, {} as never);
    assert.deepEqual(seen, ['after', 'after-async']);
  });

  it('refuses unknown hook points and duplicate callbacks; removes by owner', () => {
    const hooks = new Hooks();
    assert.throws(() => hooks.add('client.check_acl' as never, () => undefined), /invalid hookpoint/);
    const cb = () => undefined;
    hooks.add('message.acked', cb, 0, 'plugin-a');
    assert.throws(() => hooks.add('message.acked', cb), /already registered/);
    hooks.add('message.dropped', () => undefined, 0, 'plugin-a');
    assert.equal(hooks.has('message.acked'), true);
    hooks.removeOwner('plugin-a');
    assert.equal(hooks.has('message.acked'), false);
    assert.equal(hooks.has('message.dropped'), false);
  });
});
