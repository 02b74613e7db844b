/**
 * The entries of the cluster's config log (conf-log.ts) and their parser. Anything can be published on the
 * log's subjects, so an entry is checked before a node acts on it: a malformed one is reported and skipped,
 * never allowed to stop the node's progress through the log.
 */
import type { PluginChange } from '../plugins/manager.js';

type PluginOp = PluginChange['op'];

const PLUGIN_OPS: ReadonlySet<string> = new Set<PluginOp>(['install', 'start', 'stop', 'move', 'uninstall']);

/** A root key's whole new raw value. */
export interface ConfigEntry {
  kind: 'config';
  key: string;
  value: unknown;
  /** The node the change was made on, and when (ms). */
  origin: string;
  at: number;
}

/** A plugin change; an install names its package in the Object Store by SHA-256. */
export interface PluginEntry {
  kind: 'plugin';
  op: PluginOp;
  name_vsn: string;
  sha256?: string;
  position?: string;
  origin: string;
  at: number;
}

export type ConfEntry = ConfigEntry | PluginEntry;

const decoder = new TextDecoder();

/** The entry in `data`, or why it is not one. */
export function parseEntry(data: Uint8Array): ConfEntry | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch {
    return { error: 'not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'not an object' };
  const e = v as Record<string, unknown>;
  const origin = typeof e.origin === 'string' ? e.origin : '';
  const at = typeof e.at === 'number' ? e.at : 0;
  if (e.kind === 'config') {
    if (typeof e.key !== 'string' || e.key === '') return { error: 'config entry without a key' };
    if (!('value' in e)) return { error: `config entry for ${e.key} without a value` };
    return { kind: 'config', key: e.key, value: e.value, origin, at };
  }
  if (e.kind === 'plugin') {
    if (typeof e.op !== 'string' || !PLUGIN_OPS.has(e.op))
      return { error: 'plugin entry with an unknown op' };
    if (typeof e.name_vsn !== 'string' || e.name_vsn === '')
      return { error: 'plugin entry without name_vsn' };
    const out: PluginEntry = { kind: 'plugin', op: e.op as PluginOp, name_vsn: e.name_vsn, origin, at };
    if (e.op === 'install') {
      if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
        return { error: `install of ${e.name_vsn} without a sha256` };
      out.sha256 = e.sha256;
    }
    if (e.op === 'move') {
      if (typeof e.position !== 'string') return { error: `move of ${e.name_vsn} without a position` };
      out.position = e.position;
    }
    return out;
  }
  return { error: 'unknown kind' };
}

/** An entry for a log line (values can be large). */
export function describeEntry(entry: ConfEntry): Record<string, unknown> {
  return entry.kind === 'config'
    ? { kind: entry.kind, key: entry.key, origin: entry.origin }
    : { kind: entry.kind, op: entry.op, name_vsn: entry.name_vsn, origin: entry.origin };
}
