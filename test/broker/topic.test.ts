import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseSubscriptionTopic,
  topicFilterError,
  topicMatches,
  topicNameError,
} from '../../src/broker/topic.js';

describe('topic names and filters', () => {
  it('accepts valid names and refuses wildcards, NUL and empty names', () => {
    assert.equal(topicNameError('a/b/c'), undefined);
    assert.equal(topicNameError('/'), undefined);
    assert.equal(topicNameError('$SYS/x'), undefined);
    assert.match(topicNameError('a/+') ?? '', /wildcard/);
    assert.match(topicNameError('a/#') ?? '', /wildcard/);
    assert.match(topicNameError('a\u0000b') ?? '', /NUL/);
    assert.match(topicNameError('') ?? '', /empty/);
  });

  it('enforces level and length limits', () => {
    assert.match(topicNameError('a/b/c', { maxLevels: 2, maxLength: 100 }) ?? '', /levels/);
    assert.match(topicNameError('abcdef', { maxLevels: 10, maxLength: 5 }) ?? '', /long/);
    assert.match(topicFilterError('a/+/c', { maxLevels: 2, maxLength: 100 }) ?? '', /levels/);
  });

  it('checks wildcard placement in filters', () => {
    for (const ok of ['#', '+', '+/+', 'a/#', 'a/+/b', '/+', '+/', 'a//b', '$SYS/#']) {
      assert.equal(topicFilterError(ok), undefined, ok);
    }
    for (const bad of ['a#', 'a/#/b', 'a/b#', '+a', 'a/+b', '##', 'a/++', '']) {
      assert.notEqual(topicFilterError(bad), undefined, bad);
    }
  });

  it('parses $share and $queue', () => {
    assert.deepEqual(parseSubscriptionTopic('$share/g1/a/+'), { filter: 'a/+', group: 'g1' });
    assert.deepEqual(parseSubscriptionTopic('$queue/a/b'), { filter: 'a/b', group: '$queue' });
    assert.deepEqual(parseSubscriptionTopic('a/b'), { filter: 'a/b', group: undefined });
    assert.equal(typeof parseSubscriptionTopic('$share//a'), 'string');
    assert.equal(typeof parseSubscriptionTopic('$share/g'), 'string');
    assert.equal(typeof parseSubscriptionTopic('$share/g/'), 'string');
    assert.equal(typeof parseSubscriptionTopic('$share/g+/a'), 'string');
  });

  it('matches per MQTT 5 §4.7', () => {
    const yes: Array<[string, string]> = [
      ['#', 'a'],
      ['#', 'a/b/c'],
      ['a/#', 'a'],
      ['a/#', 'a/b'],
      ['a/+', 'a/b'],
      ['a/+', 'a/'],
      ['+/+', '/x'],
      ['+', 'a'],
      ['+/#', 'a'],
      ['a/+/c', 'a//c'],
      ['$SYS/#', '$SYS/a'],
      ['$SYS/+/x', '$SYS/a/x'],
      ['a/b', 'a/b'],
    ];
    const no: Array<[string, string]> = [
      ['#', '$SYS/a'],
      ['+/a', '$SYS/a'],
      ['a/+', 'a/b/c'],
      ['a/b', 'a'],
      ['+', 'a/b'],
      ['a', 'a/b'],
      ['a/+/c', 'a/b/d'],
    ];
    for (const [f, t] of yes) assert.equal(topicMatches(f, t), true, `${f} ~ ${t}`);
    for (const [f, t] of no) assert.equal(topicMatches(f, t), false, `${f} !~ ${t}`);
  });
});
