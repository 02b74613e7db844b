/**
 * Starts a Hermod node in-process for a test: loopback listeners on free ports, an in-memory (or temp dir)
 * store, config overrides merged over the defaults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/resolve.js';
import type { HermodConfig } from '../../src/config/schema/index.js';
import { OVERRIDE_FILE, readOverrides } from '../../src/config/service.js';
import { HermodNode } from '../../src/node.js';

export type RawConfig = Record<string, unknown>;

export interface TestBroker {
  node: HermodNode;
  config: HermodConfig;
  /** MQTT over TCP port. */
  port: number;
  /** MQTT over WebSocket port (when ws was enabled). */
  wsPort: number | undefined;
  dataDir: string | undefined;
  /** REST API port (when `api` was set). */
  apiPort: number | undefined;
  /** REST API base URL, e.g. http://127.0.0.1:40123 (when `api` was set). */
  apiUrl: string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Raw config (EMQX keys) merged over the test defaults. */
  config?: RawConfig;
  /** Also start a WebSocket listener. */
  ws?: boolean;
  /** Keep state in this directory (persistence tests); default: in memory. */
  dataDir?: string;
  /** Use a fresh temp directory as data dir and remove it on stop. */
  tempDataDir?: boolean;
  /** Start the REST API (dashboard listener) on 127.0.0.1 and a free port; default off. */
  api?: boolean;
}

/** Deep-merges plain objects (arrays and scalars are replaced). */
export function merge(base: RawConfig, over: RawConfig): RawConfig {
  const out: RawConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b !== null &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? merge(b as RawConfig, v as RawConfig)
        : v;
  }
  return out;
}

/** Starts a broker for one test. */
export async function startBroker(opts: StartOptions = {}): Promise<TestBroker> {
  const base: RawConfig = {
    node: { name: 'hermod@127.0.0.1' },
    listeners: {
      tcp: { default: { bind: '127.0.0.1:0' } },
      ws: { default: { bind: '127.0.0.1:0', enable: opts.ws === true } },
    },
    sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
  };
  base.dashboard = { listeners: { http: { enable: opts.api === true, bind: '127.0.0.1:0' } } };
  let dataDir = opts.dataDir;
  const temp = opts.tempDataDir === true && dataDir === undefined;
  if (temp) dataDir = mkdtempSync(join(tmpdir(), 'hermod-test-'));
  if (dataDir !== undefined) base.node = { ...(base.node as RawConfig), data_dir: dataDir };
  let raw = merge(base, opts.config ?? {});
  // Runtime changes persisted by an earlier node on this data dir win over the file config, as at boot.
  const overrides = dataDir === undefined ? {} : readOverrides(join(dataDir, OVERRIDE_FILE));
  raw = { ...raw, ...(overrides as RawConfig) };
  const resolved = resolveConfig(raw);
  if (!resolved.ok) throw new Error(`bad test config: ${JSON.stringify(resolved.errors)}`);
  const node = new HermodNode(resolved.value, { store: dataDir ?? ':memory:', raw, overrides });
  await node.start();
  return {
    node,
    config: resolved.value,
    port: node.port('tcp:default'),
    wsPort: opts.ws ? node.port('ws:default') : undefined,
    dataDir,
    apiPort: node.mgmt?.port,
    apiUrl: node.mgmt?.url,
    async stop() {
      await node.stop();
      if (temp && dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
