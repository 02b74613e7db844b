/**
 * Registry keys and the adopter pick, for any client id: a key is always a legal JetStream KV key and
 * names one client; the rendezvous pick is the same on every node whatever order it lists the live nodes
 * in, and moves only the clients of a node that leaves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { rendezvous } from '../../src/cluster/adoption.js';
import { registryKey } from '../../src/cluster/registry-entry.js';

const KV_KEY = /^[-/_=.A-Za-z0-9]+$/;

describe('registry keys and rendezvous', () => {
  it('every (namespace, client id) gets a legal, bounded KV key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 2000 }), (ns, id) => {
        const key = registryKey(ns, id);
        assert.match(key, KV_KEY);
        assert.ok(key.length <= 256, `key of ${key.length} characters`);
        assert.ok(!key.startsWith('.') && !key.endsWith('.'), 'no empty subject token');
      }),
    );
  });

  it('different clients get different keys', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        (a, b) => {
          fc.pre(a !== b);
          assert.notEqual(registryKey('mqtt', a), registryKey('mqtt', b));
        },
      ),
    );
    assert.notEqual(registryKey('mqtt', 'x'), registryKey('stomp', 'x'));
  });

  it('the adopter is one of the live nodes, the same for any listing order, and stays when another node leaves', () => {
    const nodeNames = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), {
      minLength: 2,
      maxLength: 8,
    });
    fc.assert(
      fc.property(nodeNames, fc.string(), (nodes, id) => {
        const pick = rendezvous(id, nodes)!;
        assert.ok(nodes.includes(pick));
        assert.equal(rendezvous(id, [...nodes].reverse()), pick);
        const other = nodes.find((n) => n !== pick)!;
        assert.equal(
          rendezvous(
            id,
            nodes.filter((n) => n !== other),
          ),
          pick,
        );
      }),
    );
    assert.equal(rendezvous('x', []), undefined);
  });
});
