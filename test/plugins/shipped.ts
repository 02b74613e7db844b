/** Test set-up for the plugins shipped in the repo's plugins/: packed as `npm install` packs them, on a node. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RawConfig, startBroker, type TestBroker } from '../helpers/broker.js';
import { repoRoot } from '../helpers/fixtures.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';

/** Packs the repo's plugins/ into a temp dir with the script `npm install` runs. */
export async function packShipped(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'hermod-shipped-'));
  await promisify(execFile)(process.execPath, [
    join(repoRoot(), 'scripts', 'pack-plugins.mjs'),
    '--out',
    out,
  ]);
  return out;
}

/** A plugin counter from /prometheus/stats (0 when absent). */
export async function pluginMetric(api: ApiClient, plugin: string, name: string): Promise<number> {
  const prom = await api.get('/prometheus/stats');
  const m = new RegExp(`^hermod_plugin_${name}\\{plugin="${plugin}"\\} (\\d+)$`, 'm').exec(prom.text);
  return m === null ? 0 : Number(m[1]);
}

/** A node with the API on a fresh data dir, the shipped plugins placed (stopped) as on a first start. */
export interface ShippedNode {
  b: TestBroker;
  api: ApiClient;
  dataDir: string;
  shipped: string;
  /** Stops the node and starts it again on the same data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startShipped(config: RawConfig = {}, shippedDir?: string): Promise<ShippedNode> {
  const shipped = shippedDir ?? (await packShipped());
  const dataDir = mkdtempSync(join(tmpdir(), 'hermod-plugins-'));
  const boot = async () => {
    const b = await startBroker({
      api: true,
      dataDir,
      config: { ...config, plugins: { shipped_dir: shipped } },
    });
    return { b, api: await adminClient(b) };
  };
  const node: ShippedNode = {
    ...(await boot()),
    dataDir,
    shipped,
    async restart() {
      await node.b.stop();
      Object.assign(node, await boot());
    },
    async stop() {
      await node.b.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (shippedDir === undefined) rmSync(shipped, { recursive: true, force: true });
    },
  };
  return node;
}

/** Polls `probe` until it returns true (every 20 ms, up to 10 s); throws `what` on timeout. */
export async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
