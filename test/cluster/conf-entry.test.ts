/** The config log's entry parser: every byte string gives an entry or a reason, never an exception. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEntry } from '../../src/cluster/conf-entry.js';

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const SHA = 'a'.repeat(64);

describe('config log entries', () => {
  it('reads the entries nodes write', () => {
    assert.deepEqual(
      parseEntry(bytes({ kind: 'config', key: 'gateway', value: { stomp: {} }, origin: 'n1', at: 5 })),
      {
        kind: 'config',
        key: 'gateway',
        value: { stomp: {} },
        origin: 'n1',
        at: 5,
      },
    );
    assert.deepEqual(
      parseEntry(
        bytes({ kind: 'plugin', op: 'install', name_vsn: 'p-1.0', sha256: SHA, origin: 'n1', at: 1 }),
      ),
      { kind: 'plugin', op: 'install', name_vsn: 'p-1.0', sha256: SHA, origin: 'n1', at: 1 },
    );
    assert.deepEqual(
      parseEntry(bytes({ kind: 'plugin', op: 'move', name_vsn: 'p-1.0', position: 'front' })),
      {
        kind: 'plugin',
        op: 'move',
        name_vsn: 'p-1.0',
        position: 'front',
        origin: '',
        at: 0,
      },
    );
  });

  it('says why a malformed entry is not one', () => {
    const why = (v: unknown) => (parseEntry(bytes(v)) as { error?: string }).error;
    assert.equal(why('{'), 'not JSON');
    assert.equal(why([1]), 'not an object');
    assert.equal(why({ kind: 'config', value: 1 }), 'config entry without a key');
    assert.equal(why({ kind: 'config', key: 'mqtt' }), 'config entry for mqtt without a value');
    assert.equal(why({ kind: 'plugin', op: 'explode', name_vsn: 'p-1' }), 'plugin entry with an unknown op');
    assert.equal(
      why({ kind: 'plugin', op: 'install', name_vsn: 'p-1', sha256: 'x' }),
      'install of p-1 without a sha256',
    );
    assert.equal(why({ kind: 'plugin', op: 'move', name_vsn: 'p-1' }), 'move of p-1 without a position');
    assert.equal(why({ kind: 'other' }), 'unknown kind');
  });

  it('fuzz: any bytes or JSON value give an entry or a reason, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        parseEntry(b);
      }),
      { numRuns: 2000 },
    );
    const kinds = fc.constantFrom('config', 'plugin', 'x', 1, null);
    const ops = fc.constantFrom('install', 'start', 'stop', 'move', 'uninstall', 'x', 3);
    fc.assert(
      fc.property(
        fc.record(
          {
            kind: kinds,
            op: ops,
            key: fc.jsonValue(),
            value: fc.jsonValue(),
            name_vsn: fc.jsonValue(),
            sha256: fc.jsonValue(),
            position: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        (v) => {
          const r = parseEntry(bytes(v));
          assert.ok('error' in r || r.kind === 'config' || r.kind === 'plugin');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
