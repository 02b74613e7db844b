import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hermod } from '../helpers/cli.js';
import { type ShippedNode, startShipped } from './shipped.js';

const DIAGNOSTICS = 'diagnostics-1.0.0';
const MB = 1024 * 1024;

/** A buffer behind a holder, made outside the async test so no suspended frame keeps a reference to it. */
function hold(bytes: number): { buffer: Buffer | undefined } {
  return { buffer: Buffer.alloc(bytes, 1) };
}

describe('diagnostics: recon for a Node process, installed as a shipped package', () => {
  let n: ShippedNode;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', n.dataDir, ...args]);
  const route = (path: string) => `/plugin_api/diagnostics/${path}`;

  before(async () => {
    n = await startShipped();
  });
  after(async () => {
    await n.stop();
  });

  it('a bad config is refused with BAD_CONFIG and the plugin stays stopped', async () => {
    const r = await n.api.put(`/plugins/${DIAGNOSTICS}/config`, { max_profile_seconds: 0 });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_CONFIG');
    assert.equal((await n.api.get(`/plugins/${DIAGNOSTICS}`)).body.running_status[0].status, 'stopped');
    assert.equal((await ctl('recon', 'memory')).code, 1);
  });

  it('hermod ctl recon memory and allocated report memory by kind and the V8 heap spaces', async () => {
    assert.equal((await n.api.put(`/plugins/${DIAGNOSTICS}/start`)).status, 204);
    const mem = await ctl('recon', 'memory');
    assert.equal(mem.code, 0, mem.stderr);
    for (const key of ['rss', 'heap_used', 'external', 'array_buffers', 'used', 'allocated', 'usage'])
      assert.match(mem.stdout, new RegExp(`^${key}: [0-9.]+$`, 'm'), key);
    const spaces = await ctl('recon', 'allocated');
    assert.equal(spaces.code, 0, spaces.stderr);
    assert.match(spaces.stdout, /^ {2}old_space:\n {4}size: \d+/m);
    const json = await n.api.get(route('memory'));
    assert.equal(json.status, 200);
    assert.ok(json.body.rss >= json.body.heap_used && json.body.heap_used > 0);
    assert.equal((await ctl('recon', 'nonsense')).code, 1);
  });

  it('bin_leak forces a full GC and reports the ArrayBuffer memory it freed', async () => {
    const held = hold(32 * MB);
    // Let the buffer's owner reach the old generation, where only a full GC frees it.
    for (let i = 0; i < 5; i++) await n.api.get(route('memory'));
    assert.ok((await n.api.get(route('memory'))).body.array_buffers >= 32 * MB);
    held.buffer = undefined;
    const r = await n.api.post(route('bin_leak'));
    assert.equal(r.status, 200);
    assert.ok(r.body.freed.array_buffers >= 24 * MB, JSON.stringify(r.body));
  });

  it('node_stats samples event loop delay and utilization, CPU and active handles', async () => {
    const r = await n.api.get(`${route('node_stats')}?samples=2&interval_ms=20`);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 2);
    for (const s of r.body) {
      assert.equal(typeof s.event_loop_delay_ms.p99, 'number');
      assert.ok(s.event_loop_utilization >= 0 && s.event_loop_utilization <= 1);
      // The MQTT and API listeners are among the handles.
      assert.ok(s.handles.TCPServerWrap >= 2, JSON.stringify(s.handles));
    }
    const bad = await n.api.get(`${route('node_stats')}?samples=0`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_REQUEST');
    const text = await ctl('recon', 'node_stats', '2', '20');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^#2$/m);
    assert.match(text.stdout, /^ {2}event_loop_utilization: /m);
  });

  it('writes a heap snapshot (API) and a CPU profile (ctl) to the data dir, readable by the owner only', async () => {
    const snap = await n.api.post(route('heap_snapshot'));
    assert.equal(snap.status, 200);
    const file: string = snap.body.file;
    assert.equal(dirname(file), join(n.dataDir, 'diagnostics'));
    assert.match(file, /\.heapsnapshot$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).snapshot.node_count > 0);

    const prof = await ctl('recon', 'cpu_profile', '1');
    assert.equal(prof.code, 0, prof.stderr);
    const path = /^file: (.+\.cpuprofile)$/m.exec(prof.stdout)?.[1];
    assert.ok(path !== undefined, prof.stdout);
    const profile = JSON.parse(readFileSync(path, 'utf8'));
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
    assert.ok(profile.endTime > profile.startTime);
    const tooLong = await ctl('recon', 'cpu_profile', '100000');
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /seconds must be a whole number from 1 to 300/);
  });
});
