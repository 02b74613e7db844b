import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PluginConfigFile } from '../../src/plugins/config-file.js';
import { schemaError } from '../../src/plugins/config-schema.js';
import { parsePosition } from '../../src/plugins/manager.js';
import { splitNameVsn } from '../../src/plugins/package.js';

describe('plugin names, positions and config schemas', () => {
  it('splits NAME-VSN at the first dash, and only valid ids', () => {
    assert.deepEqual(splitNameVsn('my_plugin-1.0.0-rc.1'), { name: 'my_plugin', vsn: '1.0.0-rc.1' });
    for (const bad of ['', 'noversion', '-1.0', 'x-', '1x-1', '../x-1', 'a b-1', `a-${'1'.repeat(300)}`])
      assert.equal(splitNameVsn(bad), undefined, bad);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const id = splitNameVsn(s);
        if (id === undefined) return;
        assert.equal(`${id.name}-${id.vsn}`, s);
        assert.ok(!id.name.includes('-') && !id.name.includes('/') && !id.vsn.includes('/'));
      }),
    );
  });

  it('reads positions as EMQX writes them', () => {
    assert.deepEqual(parsePosition('front'), { at: 'front' });
    assert.deepEqual(parsePosition('after:a-1'), { at: 'after', other: 'a-1' });
    for (const bad of ['', 'middle', 'before:', 'before', 'Front'])
      assert.equal(parsePosition(bad), undefined);
    fc.assert(
      fc.property(fc.constantFrom('before', 'after'), fc.string({ minLength: 1 }), (at, other) => {
        assert.deepEqual(parsePosition(`${at}:${other}`), { at, other });
      }),
    );
  });

  it('checks configs against a JSON Schema and never throws on any JSON value', () => {
    const schema = {
      type: 'object',
      properties: { port: { type: 'integer', minimum: 1, maximum: 65535 }, mode: { enum: ['a', 'b'] } },
      required: ['port'],
      additionalProperties: false,
    };
    assert.equal(schemaError(schema, { port: 80, mode: 'a' }), undefined);
    assert.match(schemaError(schema, { port: 0 })!, /\$\.port: below 1/);
    assert.match(schemaError(schema, { port: 1, x: 1 })!, /\$\.x: is not allowed/);
    assert.match(schemaError(schema, {})!, /\$\.port: is required/);
    fc.assert(fc.property(fc.jsonValue(), (v) => void schemaError(schema, v)));
  });
});

describe('plugin config files', () => {
  it('keeps the 10 newest backups and reads back what it wrote', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hermod-plugconf-'));
    try {
      const file = new PluginConfigFile(dataDir, 'p');
      for (let i = 0; i < 13; i++) file.write({ n: i, nested: { s: `v${i}` } });
      assert.deepEqual(file.read(), { n: 12, nested: { s: 'v12' } });
      const backups = readdirSync(file.dir).filter((f) => f.endsWith('.bak'));
      assert.equal(backups.length, 10);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
