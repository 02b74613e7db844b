/** Shared by the content tests: the shipped registry, hex literals, and "only ContentError" checks. */
import assert from 'node:assert/strict';
import { ContentError } from '../../../../src/gateway/lwm2m/content/api.js';
import { loadObjectRegistry } from '../../../../src/gateway/lwm2m/objects/registry.js';

export const registry = loadObjectRegistry();

/** `hex('C8 00 14')` → bytes; spaces and newlines are ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Runs `fn`; passes when it returns or throws a ContentError, fails on any other exception. */
export function onlyContentError(fn: () => unknown): true {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ContentError)) assert.fail(`expected ContentError, got ${String(err)}`);
  }
  return true;
}

export const FUZZ_RUNS = { numRuns: 2000 };
