/**
 * The per-message cost of the lua_hook plugin: `broker.publish()` of a 64-byte QoS 1 message, measured in
 * one process with the plugin stopped, then running with an on_message_publish script that passes the
 * message through unchanged, then with one that rewrites its payload. Rounds of each phase alternate, and
 * the median of the rounds is reported; the difference to "stopped" is what Lua adds per message.
 *
 *   npm run build && node dist/bench/lua-hook.js [--messages 100000] [--rounds 5]
 *
 * The plugin is the shipped package, packed by scripts/pack-plugins.mjs and installed through the plugin
 * manager as a user would; no subscriber is connected, so routing costs the same in every phase.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Message } from '../src/broker/message.js';
import { resolveConfig } from '../src/config/resolve.js';
import { HermodNode } from '../src/node.js';

const LUA = 'lua_hook-1.0.0';
const SCRIPTS: Record<string, string> = {
  passthrough: `function on_message_publish(c, u, topic, payload, qos, retain) return topic, payload, qos, retain end
function register_hook() return "on_message_publish" end`,
  rewrite: `function on_message_publish(c, u, topic, payload, qos, retain) return topic, string.upper(payload), qos, retain end
function register_hook() return "on_message_publish" end`,
};

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** ns per publish over `n` messages. */
function measure(node: HermodNode, n: number): number {
  const payload = Buffer.alloc(64, 'a');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) node.broker.publish(new Message('bench/lua', payload, 1, 'bench', false));
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const messages = arg('messages', 100_000);
  const rounds = arg('rounds', 5);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'hermod-bench-lua-'));
  const packed = join(work, 'packed');
  execFileSync(process.execPath, [join(root, 'scripts', 'pack-plugins.mjs'), '--out', packed]);
  const scripts = join(work, 'data', 'scripts');
  mkdirSync(scripts, { recursive: true });
  const raw = {
    node: { data_dir: join(work, 'data') },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    dashboard: { listeners: { http: { enable: false } } },
    sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
    log: { console: { level: 'error' } },
  };
  const cfg = resolveConfig(raw);
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.errors));
  // The raw config goes along: starting and stopping the plugin saves plugins.states through it.
  const node = new HermodNode(cfg.value, { store: ':memory:', raw });
  await node.start();
  try {
    node.plugins.allow(LUA);
    await node.plugins.installUpload(`${LUA}.tar.gz`, readFileSync(join(packed, `${LUA}.tar.gz`)));
    const results: Record<string, number[]> = { stopped: [], passthrough: [], rewrite: [] };
    measure(node, messages); // warm-up
    for (let r = 0; r < rounds; r++) {
      results.stopped!.push(measure(node, messages));
      for (const phase of ['passthrough', 'rewrite']) {
        rmSync(scripts, { recursive: true, force: true });
        mkdirSync(scripts);
        writeFileSync(join(scripts, `${phase}.lua`), SCRIPTS[phase]!);
        await node.plugins.startAndEnable(LUA);
        measure(node, messages / 10); // warm-up of this phase
        results[phase]!.push(measure(node, messages));
        await node.plugins.stopAndDisable(LUA);
      }
    }
    const base = median(results.stopped!);
    console.log(
      `broker.publish() of a 64-byte QoS 1 message, ${messages} messages, median of ${rounds} rounds`,
    );
    for (const [phase, xs] of Object.entries(results)) {
      const m = median(xs);
      const extra = phase === 'stopped' ? '' : `  (+${Math.round(m - base)} ns for Lua)`;
      console.log(`  ${phase.padEnd(12)} ${Math.round(m)} ns/msg  ${Math.round(1e9 / m)} msg/s${extra}`);
    }
  } finally {
    await node.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
