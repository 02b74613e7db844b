/** docs/config.md is generated from the schema; this fails when someone changed the schema and not the docs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configKeys, renderConfigDocs } from '../../src/config/docs.js';
import { RootSchema } from '../../src/config/schema/index.js';
import { repoRoot } from '../helpers/fixtures.js';

test('docs/config.md is up to date (regenerate with `npm run docs:config`)', () => {
  const path = join(repoRoot(), 'docs', 'config.md');
  let onDisk = '';
  try {
    onDisk = readFileSync(path, 'utf8');
  } catch {
    assert.fail('docs/config.md is missing: run `npm run docs:config`');
  }
  assert.ok(
    onDisk === renderConfigDocs(),
    'docs/config.md is out of date: run `npm run docs:config` and commit it',
  );
});

test('every key has a type and a description, and every root key has a section', () => {
  const keys = configKeys();
  for (const k of keys) {
    assert.notEqual(k.type, '', k.path);
    assert.notEqual(k.description, '', `${k.path} has no description`);
  }
  const md = renderConfigDocs();
  for (const root of Object.keys(RootSchema.properties)) assert.ok(md.includes(`\n## \`${root}\`\n`), root);
  const paths = new Set(keys.map((k) => k.path));
  for (const p of ['listeners.tcp.<name>.bind', 'mqtt.max_packet_size', 'log.file.<name>.rotation_size']) {
    assert.ok(paths.has(p), p);
  }
});

test('types, defaults and Hermod additions are rendered', () => {
  const byPath = new Map(configKeys().map((k) => [k.path, k]));
  assert.equal(byPath.get('mqtt.idle_timeout')?.type, 'duration');
  assert.equal(byPath.get('mqtt.idle_timeout')?.default, '"15s"');
  assert.equal(byPath.get('mqtt.max_packet_size')?.type, 'byte size');
  assert.equal(byPath.get('listeners.tcp.<name>.bind')?.type, 'bind');
  assert.equal(byPath.get('mqtt.max_inflight')?.type, 'integer 1..65535');
  assert.equal(byPath.get('mqtt.retry_interval')?.type, 'duration | "disabled"');
  assert.equal(byPath.get('mqtt.mqueue_drop_policy')?.type, '"drop_oldest" | "drop_newest"');
  assert.equal(byPath.get('mqtt.max_session_expiry_interval')?.hermod, true);
  assert.match(renderConfigDocs(), /\| `mqtt\.max_session_expiry_interval` \|.*Hermod addition/);
});
