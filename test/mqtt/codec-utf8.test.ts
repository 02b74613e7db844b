/** UTF-8 and Variable Byte Integer helpers, checked against Node's own implementations. */

import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import {
  decodeMqttString,
  isValidMqttUtf8,
  mqttStringLength,
  VARINT_MAX,
  varintSize,
  writeVarint,
} from '../../src/mqtt/codec/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

describe('MQTT UTF-8 validation', () => {
  it('agrees with buffer.isUtf8 plus "no U+0000" on random byte strings', () => {
    const rand = rng(1);
    // Bias towards lead and continuation bytes so multi-byte sequences actually occur.
    const pick = [
      0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed,
      0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
    ];
    for (let i = 0; i < 50000; i++) {
      const n = Math.floor(rand() * 8);
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++)
        b[j] = rand() < 0.8 ? pick[Math.floor(rand() * pick.length)] : Math.floor(rand() * 256);
      const expected = isUtf8(b) && !b.includes(0);
      assert.equal(isValidMqttUtf8(b, 0, n), expected, b.toString('hex'));
      const decoded = decodeMqttString(b, 0, n);
      assert.equal(decoded, expected ? b.toString('utf8') : undefined, b.toString('hex'));
    }
  });

  it('validates only the given range', () => {
    const b = Buffer.from([0xff, 0x61, 0x62, 0x00]);
    assert.equal(isValidMqttUtf8(b, 1, 3), true);
    assert.equal(decodeMqttString(b, 1, 3), 'ab');
    assert.equal(isValidMqttUtf8(b, 0, 3), false);
    assert.equal(isValidMqttUtf8(b, 1, 4), false);
  });

  it('mqttStringLength matches Buffer.byteLength and refuses NUL and lone surrogates', () => {
    for (const s of ['', 'abc', 'é', '€', '𝄞', 'a€𝄞é\uFEFF\uFFFF', '\u007f\u0080\u07ff\u0800\uffff']) {
      assert.equal(mqttStringLength(s), Buffer.byteLength(s, 'utf8'), s);
    }
    for (const s of ['\u0000', 'a\u0000', '\ud800', '\udfff', 'x\ud800y', '\ud800\ud800', '\udc00\ud800']) {
      assert.equal(mqttStringLength(s), -1, JSON.stringify(s));
    }
  });
});

describe('Variable Byte Integer', () => {
  it('sizes and encodes the boundary values', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [16383, 'ff7f'],
      [16384, '808001'],
      [2097151, 'ffff7f'],
      [2097152, '80808001'],
      [VARINT_MAX, 'ffffff7f'],
    ];
    for (const [n, hex] of cases) {
      assert.equal(varintSize(n), hex.length / 2, String(n));
      const b = Buffer.alloc(4);
      assert.equal(writeVarint(b, 0, n), hex.length / 2);
      assert.equal(b.subarray(0, hex.length / 2).toString('hex'), hex);
    }
  });
});
