import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InflightWindow } from '../../src/broker/inflight-window.js';

describe('InflightWindow', () => {
  it('keeps sending order whether entries sit in the first slot or the map', () => {
    const w = new InflightWindow<string>();
    w.add(1, 'a');
    w.add(2, 'b');
    w.add(3, 'c');
    assert.deepEqual(
      [...w],
      [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ],
    );
    assert.ok(w.delete(1));
    // 1 is acked while 2 and 3 are in flight: 4 is newer than both, so it must come after them.
    w.add(4, 'd');
    assert.deepEqual([...w.keys()], [2, 3, 4]);
    assert.equal(w.size, 3);
    assert.equal(w.get(3), 'c');
    assert.equal(w.get(1), undefined);
    assert.ok(!w.has(1));
    assert.ok(!w.delete(1));
  });

  it('behaves as a map for one entry at a time (lone traffic)', () => {
    const w = new InflightWindow<number>();
    for (let id = 1; id <= 5; id++) {
      assert.ok(!w.has(id));
      w.add(id, id * 10);
      assert.equal(w.size, 1);
      assert.equal(w.get(id), id * 10);
      assert.ok(w.delete(id));
      assert.equal(w.size, 0);
    }
    assert.deepEqual([...w], []);
  });

  it('allows deleting the entry being visited, like a Map', () => {
    const w = new InflightWindow<string>();
    for (const id of [7, 8, 9]) w.add(id, `m${id}`);
    const seen: number[] = [];
    for (const [id] of w) {
      seen.push(id);
      if (id !== 8) w.delete(id);
    }
    assert.deepEqual(seen, [7, 8, 9]);
    assert.deepEqual([...w.values()], ['m8']);
    w.clear();
    assert.equal(w.size, 0);
    w.add(10, 'x');
    assert.deepEqual([...w.entries()], [[10, 'x']]);
  });
});
