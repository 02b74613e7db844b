/**
 * Python clients and handlers of the ExProto tests: Debian's python3-grpcio at /usr/bin/python3, with stubs
 * generated from proto/exproto.proto by python3-grpc-tools at test time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exprotoProtoPath } from '../../src/gateway/exproto/proto.js';

export const PYTHON = '/usr/bin/python3';
export const HAS_GRPC =
  spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools'], { stdio: 'ignore' }).status === 0;

/** A script of test/gateway/exproto-py (this file runs from dist/test/gateway, the scripts stay in test/). */
export function pyScript(name: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'test/gateway/exproto-py', name);
}

/** Generates exproto_pb2.py and exproto_pb2_grpc.py into a new temporary directory, returned. */
export function generateStubs(): string {
  const stubs = mkdtempSync(path.join(tmpdir(), 'exproto-py-'));
  const proto = exprotoProtoPath();
  const gen = spawnSync(PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${path.dirname(proto)}`,
    `--python_out=${stubs}`,
    `--grpc_python_out=${stubs}`,
    proto,
  ]);
  assert.equal(gen.status, 0, gen.stderr.toString());
  return stubs;
}
