import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../src/transport/rate-limiter.js';

describe('token bucket', () => {
  it('starts full, empties, and refills at the rate', () => {
    const t0 = performance.now();
    const bucket = new TokenBucket(5);
    for (let i = 0; i < 5; i++) assert.equal(bucket.take(t0), true);
    assert.equal(bucket.take(t0), false);
    assert.ok(bucket.waitMs(t0) > 0 && bucket.waitMs(t0) <= 200);
    assert.equal(bucket.take(t0 + 100), false);
    assert.equal(bucket.take(t0 + 201), true);
    assert.equal(bucket.take(t0 + 201), false);
    // Never holds more than the burst, however long it was idle.
    let n = 0;
    while (bucket.take(t0 + 60_000)) n++;
    assert.equal(n, 5);
  });

  it('keeps at least one token of burst for slow rates', () => {
    const t0 = performance.now();
    const bucket = new TokenBucket(0.5);
    assert.equal(bucket.take(t0), true);
    assert.equal(bucket.take(t0), false);
    assert.equal(bucket.waitMs(t0), 2000);
  });

  it('rejects a non-positive rate', () => {
    assert.throws(() => new TokenBucket(0), RangeError);
  });
});
