import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { HermodNode, resolveConfig } from 'hermod';
import mqtt from 'mqtt';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const nameVsn = `template-${pkg.version}`;
let node: HermodNode;
let dataDir: string;

before(async () => {
  execFileSync(process.execPath, ['scripts/pack.mjs']);
  dataDir = mkdtempSync(join(tmpdir(), 'template-'));
  // Free ports and no dashboard, so the test runs next to a broker already on this machine.
  const cfg = resolveConfig({
    node: { data_dir: dataDir },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    dashboard: { listeners: { http: { enable: false } } },
  });
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.errors));
  node = new HermodNode(cfg.value, { store: dataDir });
  await node.start();
  node.plugins.allow(nameVsn);
  await node.plugins.installUpload(`${nameVsn}.tar.gz`, readFileSync(`${nameVsn}.tar.gz`));
  await node.plugins.startAndEnable(nameVsn);
});

after(async () => {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('authenticates the demo user and refuses a wrong password', async () => {
  const url = `mqtt://127.0.0.1:${node.port()}`;
  const ok = await mqtt.connectAsync(url, { username: 'demo', password: 'demo-secret', reconnectPeriod: 0 });
  await ok.endAsync();
  await assert.rejects(mqtt.connectAsync(url, { username: 'demo', password: 'wrong', reconnectPeriod: 0 }));
});
