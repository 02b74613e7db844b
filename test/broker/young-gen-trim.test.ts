import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { youngGenTrim } from '../../src/broker/young-gen-trim.js';

const MiB = 2 ** 20;

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

test('a young generation grown by a burst is given back once the process is quiet', async () => {
  // A burst in which much survives makes V8 grow its new space (to 2 × 16 MiB by default).
  let kept: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    const o = { i, next: null };
    if (i % 4 === 0) kept.push(o);
  }
  assert.ok(newSpaceBytes() > 8 * MiB, `new space grew to ${newSpaceBytes() / MiB} MiB`);
  kept = [];
  youngGenTrim.hold();
  try {
    // Two quiet periods (settle, then V8's 5 s allocation window) and two scavenges: ~10 s.
    const deadline = Date.now() + 25_000;
    while (newSpaceBytes() > 2 * MiB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.ok(newSpaceBytes() <= 2 * MiB, `new space still ${newSpaceBytes() / MiB} MiB`);
    assert.ok(youngGenTrim.scavenges >= 1);
  } finally {
    youngGenTrim.release();
  }
  assert.equal(kept.length, 0);
});
