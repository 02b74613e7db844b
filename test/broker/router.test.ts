import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type RouteEntry, Router } from '../../src/broker/router.js';
import type { Session } from '../../src/broker/session.js';
import { topicMatches } from '../../src/broker/topic.js';
import type { SubOpts } from '../../src/broker/types.js';

// The router only keys on session identity; a stand-in object per subscriber is enough here.
const sessions = ['s0', 's1', 's2'].map((clientid) => ({ clientid }) as unknown as Session);
const OPTS: SubOpts = { qos: 1, nl: 0, rap: 0, rh: 0 };

/** A valid filter over a small alphabet (so filters collide and overlap): '#' only last, '$' levels too. */
const filterArb = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '', '$s', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels.slice(0, 3), '#'] : levels).join('/'));
const topicArb = fc
  .array(fc.constantFrom('a', 'b', '', '$s', 'c'), { minLength: 1, maxLength: 5 })
  .map((l) => l.join('/'));

type Op = { kind: 'add' | 'remove'; f: number; s: number; group: string | undefined };
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('add' as const, 'add' as const, 'remove' as const),
  // An index into a small pool of filters, so that several sessions share filters.
  f: fc.nat(),
  s: fc.integer({ min: 0, max: 2 }),
  group: fc.option(fc.constantFrom('g1', 'g2'), { nil: undefined, freq: 3 }),
});

/** A topic the filter matches (or nearly: '$s' levels stay), so that matches are common. */
function topicFor(filter: string): string {
  return filter
    .split('/')
    .map((l) => (l === '+' ? 'c' : l === '#' ? 'c/d' : l))
    .join('/');
}

/** Plain subscribers of an entry, in delivery order. */
function plain(e: RouteEntry): Session[] {
  if (e.one !== undefined) return [e.one];
  return [...(e.many?.keys() ?? [])];
}

describe('router', () => {
  it('matches what a naive filter-by-filter matcher matches, across adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(filterArb, { minLength: 1, maxLength: 8 }),
        fc.array(opArb, { maxLength: 60 }),
        fc.array(topicArb, { maxLength: 10 }),
        (pool, ops, random) => {
          const r = new Router();
          // The model: per filter, plain subscribers in subscription order, and group → members.
          const model = new Map<string, { plain: Session[]; groups: Map<string, Set<Session>> }>();
          for (const op of ops) {
            const filter = pool[op.f % pool.length]!;
            const s = sessions[op.s]!;
            const m = model.get(filter) ?? {
              plain: [] as Session[],
              groups: new Map<string, Set<Session>>(),
            };
            if (op.kind === 'add') {
              const opts = op.group === undefined ? OPTS : { ...OPTS, share: op.group };
              const isNew =
                op.group === undefined ? !m.plain.includes(s) : !(m.groups.get(op.group)?.has(s) ?? false);
              assert.equal(r.add(filter, s, opts), isNew);
              if (op.group === undefined) {
                if (isNew) m.plain.push(s);
              } else {
                const g = m.groups.get(op.group) ?? new Set<Session>();
                g.add(s);
                m.groups.set(op.group, g);
              }
            } else {
              const existed =
                op.group === undefined ? m.plain.includes(s) : (m.groups.get(op.group)?.has(s) ?? false);
              assert.equal(r.remove(filter, s, op.group), existed);
              if (op.group === undefined) m.plain = m.plain.filter((x) => x !== s);
              else {
                m.groups.get(op.group)?.delete(s);
                if (m.groups.get(op.group)?.size === 0) m.groups.delete(op.group);
              }
            }
            if (m.plain.length === 0 && m.groups.size === 0) model.delete(filter);
            else model.set(filter, m);
          }
          assert.equal(r.topicCount, model.size);
          let subs = 0;
          for (const m of model.values()) {
            subs += m.plain.length;
            for (const g of m.groups.values()) subs += g.size;
          }
          assert.equal(r.subscriptions, subs);
          for (const topic of [...random, ...pool.map(topicFor)]) {
            const out: RouteEntry[] = [];
            r.match(topic, out);
            const got = new Map(out.map((e) => [e.filter, e]));
            assert.equal(got.size, out.length, `an entry matched twice for ${topic}`);
            const want = [...model.keys()].filter((f) => topicMatches(f, topic)).sort();
            assert.deepEqual([...got.keys()].sort(), want, `filters matching ${topic}`);
            for (const f of want) {
              const e = got.get(f)!;
              const m = model.get(f)!;
              assert.deepEqual(plain(e), m.plain, `subscribers of ${f}, in order`);
              assert.deepEqual([...(e.groups?.keys() ?? [])].sort(), [...m.groups.keys()].sort());
            }
          }
          // Every filter is listed once, and each can be looked up.
          assert.deepEqual([...r.filters()].map((e) => e.filter).sort(), [...model.keys()].sort());
          for (const f of model.keys()) assert.equal(r.lookup(f)?.filter, f);
          for (const f of pool) if (!model.has(f)) assert.equal(r.lookup(f), undefined, `${f} is gone`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('routes filters that share their levels but the last, across removals that empty those levels', () => {
    const r = new Router();
    const [a] = sessions as [Session];
    const matches = (topic: string): string[] => {
      const out: RouteEntry[] = [];
      r.match(topic, out);
      return out.map((e) => e.filter).sort();
    };
    // More prefixes in a row than the router remembers, then back to the first.
    for (const p of ['d/1/+', 'd/2/+', '+/3', 'd/4', 'd/5/+', 'd/1/+'])
      for (const last of ['x', 'y']) r.add(`${p}/${last}`, a, OPTS);
    r.add('d/4/z/#', a, OPTS);
    assert.deepEqual(matches('d/1/q/y'), ['d/1/+/y']);
    assert.deepEqual(matches('d/4/z/w'), ['d/4/z/#']);
    // Emptying d/1/+ prunes its levels: a filter under it afterwards must not land on a pruned node.
    r.remove('d/1/+/x', a, undefined);
    r.remove('d/1/+/y', a, undefined);
    assert.deepEqual(matches('d/1/q/y'), []);
    r.add('d/1/+/w', a, OPTS);
    assert.deepEqual(matches('d/1/q/w'), ['d/1/+/w']);
    assert.equal(r.lookup('d/1/+/w')?.filter, 'd/1/+/w');
    assert.equal(r.topicCount, 10);
  });

  it('keeps a second subscriber after the first and delivers in subscription order', () => {
    const r = new Router();
    const [a, b, c] = sessions as [Session, Session, Session];
    assert.equal(r.add('x/+', a, OPTS), true);
    assert.equal(r.add('x/+', a, { ...OPTS, qos: 2 }), false, 'an update is not new');
    assert.equal(r.lookup('x/+')?.oneOpts?.qos, 2);
    assert.equal(r.add('x/+', b, OPTS), true);
    assert.equal(r.add('x/+', c, OPTS), true);
    assert.equal(r.remove('x/+', a, undefined), true);
    assert.equal(r.add('x/+', a, OPTS), true);
    assert.deepEqual(plain(r.lookup('x/+')!), [b, c, a]);
    for (const s of [a, b, c]) r.remove('x/+', s, undefined);
    assert.equal(r.lookup('x/+'), undefined, 'an entry without subscribers goes');
    assert.equal(r.subscriptions, 0);
  });
});
