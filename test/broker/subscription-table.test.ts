import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { subOpts } from '../../src/broker/sub-opts.js';
import { SubscriptionTable } from '../../src/broker/subscription-table.js';
import type { SubOpts } from '../../src/broker/types.js';

const q0 = subOpts(0, 0, 0, 0);
const q1 = subOpts(1, 0, 0, 0);

describe('SubscriptionTable', () => {
  it('reads as a Map: first-subscribed order, replacing keeps the place, re-adding goes last', () => {
    const t = new SubscriptionTable();
    assert.ok(t.set('a', q0, true));
    assert.ok(t.set('b', q0, true));
    assert.ok(t.set('c', q0));
    assert.ok(!t.set('a', q1));
    assert.deepEqual([...t.keys()], ['a', 'b', 'c']);
    assert.equal(t.get('a'), q1);
    assert.ok(t.delete('a'));
    assert.ok(!t.delete('a'));
    assert.ok(!t.has('a'));
    assert.ok(t.set('a', q0, true));
    assert.deepEqual(
      [...t],
      [
        ['b', q0],
        ['c', q0],
        ['a', q0],
      ],
    );
    assert.equal(t.size, 3);
    t.clear();
    assert.equal(t.size, 0);
    assert.deepEqual([...t.entries()], []);
  });

  it('matches a Map over any sequence of adds, replaces and removals', () => {
    const topic = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'a/+', '$share/g/a');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), topic, qos1: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), topic }),
      fc.record({ kind: fc.constant('get' as const), topic }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const t = new SubscriptionTable();
        const m = new Map<string, SubOpts>();
        for (const o of ops) {
          if (o.kind === 'set') {
            const opts = o.qos1 ? q1 : q0;
            // As Broker passes it: `true` only when the topic is known to be absent.
            const isNew = m.has(o.topic) ? undefined : true;
            assert.equal(t.set(o.topic, opts, isNew), !m.has(o.topic));
            m.set(o.topic, opts);
          } else if (o.kind === 'delete') {
            assert.equal(t.delete(o.topic), m.delete(o.topic));
          } else {
            assert.equal(t.get(o.topic), m.get(o.topic));
          }
          assert.equal(t.size, m.size);
        }
        assert.deepEqual([...t], [...m]);
        assert.deepEqual([...t.keys()], [...m.keys()]);
        assert.deepEqual([...t.values()], [...m.values()]);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the order through many removals (the arrays are compacted)', () => {
    const t = new SubscriptionTable();
    for (let i = 0; i < 100; i++) t.set(`t/${i}`, q0, true);
    for (let i = 0; i < 100; i += 3) t.delete(`t/${i}`);
    for (let i = 1; i < 100; i += 3) t.delete(`t/${i}`);
    const left = Array.from({ length: 100 }, (_, i) => `t/${i}`).filter((_, i) => i % 3 === 2);
    assert.deepEqual([...t.keys()], left);
    assert.equal(t.size, left.length);
    assert.ok(t.has('t/98'));
    assert.ok(!t.has('t/97'));
  });
});
