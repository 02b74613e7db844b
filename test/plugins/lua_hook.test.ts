import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { repoRoot } from '../helpers/fixtures.js';
import { pluginMetric, type ShippedNode, startShipped } from './shipped.js';

const LUA_HOOK = 'lua_hook-1.0.0';

const REWRITE = `
-- lua/in/X is published as lua/out/X, upper-cased and signed; lua/drop is not published at all.
function on_message_publish(clientid, username, topic, payload, qos, retain)
  if topic == "lua/drop" then return false end
  local rest = string.match(topic, "^lua/in/(.+)$")
  if rest then return "lua/out/" .. rest, string.upper(payload) .. " from " .. clientid, qos, retain end
  return topic, payload, qos, retain
end
function register_hook() return "on_message_publish" end
`;

const ACCESS = `
function on_client_authenticate(clientid, username, peerhost, password)
  if username == "lua-banned" then return "deny" end
  return "ignore"
end
function on_client_check_acl(clientid, username, peerhost, password, topic, pubsub)
  if pubsub == "publish" and topic == "lua/denied" then return "deny" end
  return "ignore"
end
function register_hook() return "on_client_authenticate", "on_client_check_acl" end
`;

const SUBSCRIPTIONS = `
function on_client_subscribe(clientid, username, topic)
  if topic == "sub/secret/#" then return false end
  if topic == "sub/alias" then return "sub/real" end
  return topic
end
function register_hook() return "on_client_subscribe" end
`;

const FAULTY = `
function on_message_publish(clientid, username, topic, payload, qos, retain)
  if topic == "lua/loop" then while true do end end
  if topic == "lua/error" then error("boom") end
  return nil
end
function register_hook() return "on_message_publish" end
`;

/** Publishes with MQTT 5 at QoS 1 and resolves to the PUBACK reason code. */
function pubackCode(c: MqttClient, topic: string): Promise<number> {
  return new Promise((resolve, reject) =>
    c.publish(topic, 'x', { qos: 1 }, (err, packet) => {
      if (err !== undefined && err !== null && packet === undefined) reject(err);
      else resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0);
    }),
  );
}

describe('lua_hook: Lua scripts hook the broker, installed as a shipped package', () => {
  let n: ShippedNode;
  let scripts: string;
  let sub: MqttClient;
  let got: ReturnType<typeof collect>;
  /** Messages of `got` already read. */
  let seen = 0;
  let pub: MqttClient;
  /** Callbacks on the points the scripts use before the plugin started: the built-in ones. */
  let builtIn: number[];
  const POINTS = ['message.publish', 'client.authenticate', 'client.authorize'] as const;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', n.dataDir, ...args]);

  before(async () => {
    n = await startShipped();
    scripts = join(n.dataDir, 'scripts');
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, 'rewrite.lua'), REWRITE);
    writeFileSync(join(scripts, 'access.lua'), ACCESS);
    writeFileSync(join(scripts, 'faulty.lua'), FAULTY);
    writeFileSync(join(scripts, 'subscriptions.lua'), SUBSCRIPTIONS);
    writeFileSync(join(scripts, 'notes.txt'), 'not a script');
    sub = await connectClient(n.b.port, { clientId: 'lua-sub' });
    got = collect(sub);
    await subscribe(sub, 'lua/#', { qos: 1 });
    pub = await connectClient(n.b.port, { clientId: 'lua-pub', protocolVersion: 5 });
    builtIn = POINTS.map((p) => n.b.node.hooks.count(p));
  });
  after(async () => {
    await end(pub);
    await end(sub);
    await n.stop();
  });

  /** Publishes, then a marker; resolves to what the subscriber got up to and including the marker. */
  async function roundTrip(topic: string, payload: string): Promise<Array<[string, string]>> {
    await publish(pub, topic, payload, { qos: 1 });
    await publish(pub, 'lua/marker', 'm', { qos: 1 });
    const out: Array<[string, string]> = [];
    for (;;) {
      const m = (await got.next(++seen)).at(-1)!;
      if (m.topic === 'lua/marker') return out;
      out.push([m.topic, m.payload.toString()]);
    }
  }

  it('does nothing while stopped, and a bad config is refused with BAD_CONFIG', async () => {
    assert.deepEqual(await roundTrip('lua/in/a', 'hello'), [['lua/in/a', 'hello']]);
    const r = await n.api.put(`/plugins/${LUA_HOOK}/config`, { instruction_budget: 5 });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_CONFIG');
    assert.equal((await n.api.get(`/plugins/${LUA_HOOK}`)).body.running_status[0].status, 'stopped');
  });

  it('started from the API, its scripts rewrite, drop and deny what MQTT clients see', async () => {
    assert.equal((await n.api.put(`/plugins/${LUA_HOOK}/start`)).status, 204);
    assert.deepEqual(await roundTrip('lua/in/a', 'hello'), [['lua/out/a', 'HELLO from lua-pub']]);
    assert.deepEqual(await roundTrip('lua/drop', 'gone'), []);
    assert.equal(await pubackCode(pub, 'lua/denied'), 0x87);
    await assert.rejects(
      connectClient(n.b.port, { username: 'lua-banned', reconnectPeriod: 0, protocolVersion: 5 }),
    );
    const fine = await connectClient(n.b.port, { username: 'someone', reconnectPeriod: 0 });
    await end(fine);
  });

  it('its scripts refuse and rewrite topic filters of SUBSCRIBE', async () => {
    const c = await connectClient(n.b.port, { clientId: 'lua-subs', protocolVersion: 5 });
    const got2 = collect(c);
    const suback = (topic: string) =>
      new Promise<number>((resolve) =>
        c.subscribe(topic, { qos: 1 }, (err, g) => resolve(err ? 0x80 : (g?.[0]?.qos ?? 0x80))),
      );
    assert.equal(await suback('sub/secret/#'), 0x80);
    assert.equal(await suback('sub/alias'), 1);
    await publish(pub, 'sub/real', 'via alias', { qos: 1 });
    const [m] = await got2.next(1);
    assert.deepEqual([m!.topic, m!.payload.toString()], ['sub/real', 'via alias']);
    await end(c);
  });

  it('an endless loop and an error are stopped, counted and skipped; the message goes on', async () => {
    assert.deepEqual(await roundTrip('lua/loop', 'spin'), [['lua/loop', 'spin']]);
    assert.deepEqual(await roundTrip('lua/error', 'err'), [['lua/error', 'err']]);
    assert.equal(await pluginMetric(n.api, 'lua_hook', 'budget_exceeded'), 1);
    assert.equal(await pluginMetric(n.api, 'lua_hook', 'errors'), 2);
    const list = await ctl('luahook', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /faulty\.lua: on_message_publish; errors 2, budget exceeded 1/);
  });

  it('hermod ctl luahook disables, enables and reloads a script, and reports what it cannot load', async () => {
    let r = await ctl('luahook', 'disable', 'rewrite');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(scripts, 'rewrite.lua.x')));
    assert.deepEqual(await roundTrip('lua/in/b', 'plain'), [['lua/in/b', 'plain']]);

    r = await ctl('luahook', 'enable', 'rewrite');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Enabled rewrite\.lua \(hooks: on_message_publish\)/);
    assert.deepEqual(await roundTrip('lua/in/b', 'again'), [['lua/out/b', 'AGAIN from lua-pub']]);

    writeFileSync(join(scripts, 'rewrite.lua'), REWRITE.replace('string.upper(payload)', 'payload:rep(2)'));
    r = await ctl('luahook', 'reload', 'rewrite.lua');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await roundTrip('lua/in/c', 'ab'), [['lua/out/c', 'abab from lua-pub']]);

    writeFileSync(join(scripts, 'broken.lua'), 'function register_hook( return');
    r = await ctl('luahook', 'load', 'broken');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.lua/);
    r = await ctl('luahook', 'load', '../../etc/passwd');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad script name/);
  });

  it('a config change applies at once: scripts are loaded from the new script_dir', async () => {
    const other = join(n.dataDir, 'other-scripts');
    mkdirSync(other);
    writeFileSync(join(other, 'tag.lua'), REWRITE.replace('string.upper(payload)', '"tagged"'));
    assert.equal((await n.api.put(`/plugins/${LUA_HOOK}/config`, { script_dir: other })).status, 204);
    assert.deepEqual(await roundTrip('lua/in/d', 'x'), [['lua/out/d', 'tagged from lua-pub']]);
    assert.equal((await n.api.put(`/plugins/${LUA_HOOK}/config`, {})).status, 204);
    assert.deepEqual(await roundTrip('lua/in/e', 'ab'), [['lua/out/e', 'abab from lua-pub']]);
  });

  it('unloading every script leaves no hook behind; stopping removes the command', async () => {
    const hooks = n.b.node.hooks;
    for (const s of ['rewrite', 'access', 'faulty', 'subscriptions'])
      assert.equal((await ctl('luahook', 'unload', s)).code, 0);
    assert.deepEqual(
      POINTS.map((p) => hooks.count(p)),
      builtIn,
    );
    assert.equal((await n.api.put(`/plugins/${LUA_HOOK}/stop`)).status, 204);
    assert.equal((await ctl('luahook', 'list')).code, 1);
  });
});

/**
 * A script that notes what the client, session and delivery functions see for clients whose id starts with
 * "ev-" (globals keep their values between calls), and answers a publish to ev/log with its notes as the
 * payload: what an MQTT subscriber of ev/log receives is what the functions were called with.
 */
const EVENTS = `
local notes = {}
local function note(s) notes[#notes + 1] = s end
local function ours(clientid) return string.sub(clientid, 1, 3) == "ev-" end

function on_client_connected(clientid, username, rc)
  if ours(clientid) then note("connected " .. clientid .. " " .. username .. " " .. rc) end
end
function on_client_disconnected(clientid, username, reason)
  if ours(clientid) then note("disconnected " .. clientid .. " " .. username .. " " .. reason) end
end
function on_client_subscribe(clientid, username, topic)
  if ours(clientid) then note("subscribe " .. clientid .. " " .. topic) end
  if topic == "ev/alias" then return "ev/real" end
  return topic
end
function on_client_unsubscribe(clientid, username, topic)
  if ours(clientid) then note("unsubscribe " .. clientid .. " " .. topic) end
  if topic == "ev/keep" then return false end
  return topic
end
function on_session_subscribed(clientid, username, topic)
  if ours(clientid) then note("session_subscribed " .. clientid .. " " .. topic) end
end
function on_session_unsubscribed(clientid, username, topic)
  if ours(clientid) then note("session_unsubscribed " .. clientid .. " " .. topic) end
end
function on_message_delivered(clientid, username, topic, payload, qos, retain)
  if topic == "ev/deliver" then return topic, payload .. " for " .. clientid, qos, retain end
end
function on_message_acked(clientid, username, topic, payload, qos, retain)
  if ours(clientid) then note("acked " .. clientid .. " " .. topic .. " " .. qos) end
end
function on_message_publish(clientid, username, topic, payload, qos, retain)
  if topic == "ev/log" then
    local out = table.concat(notes, "\\n")
    notes = {}
    return topic, out, qos, retain
  end
end
function register_hook()
  return "on_client_connected", "on_client_disconnected", "on_client_subscribe", "on_client_unsubscribe",
    "on_session_subscribed", "on_session_unsubscribed", "on_message_delivered", "on_message_acked",
    "on_message_publish"
end
`;

describe('lua_hook: client, session and delivery functions, seen by MQTT clients', () => {
  let n: ShippedNode;
  let reader: MqttClient;
  let got: ReturnType<typeof collect>;
  let seen = 0;
  let writer: MqttClient;

  before(async () => {
    n = await startShipped();
    mkdirSync(join(n.dataDir, 'scripts'), { recursive: true });
    writeFileSync(join(n.dataDir, 'scripts', 'events.lua'), EVENTS);
    assert.equal((await n.api.put(`/plugins/${LUA_HOOK}/start`)).status, 204);
    // Not "ev-" clients: the script notes nothing about them.
    reader = await connectClient(n.b.port, { clientId: 'log-reader' });
    got = collect(reader);
    await subscribe(reader, ['ev/log', '$SYS/brokers/+/clients/+/disconnected'], { qos: 1 });
    writer = await connectClient(n.b.port, { clientId: 'log-writer' });
  });
  after(async () => {
    await end(writer);
    await end(reader);
    await n.stop();
  });

  /** The reader's next message. */
  async function nextAtReader(): Promise<{ topic: string; text: string }> {
    const m = (await got.next(++seen, 10_000)).at(-1)!;
    return { topic: m.topic, text: m.payload.toString() };
  }

  /**
   * The script's notes, read by a publish to ev/log from `via`: packets of one connection are handled in
   * order, so whatever `via` did before is in the notes.
   */
  async function notes(via: MqttClient): Promise<string[]> {
    await publish(via, 'ev/log', '', { qos: 1 });
    const m = await nextAtReader();
    assert.equal(m.topic, 'ev/log');
    return m.text === '' ? [] : m.text.split('\n');
  }

  it('on_client_connected, on_client_subscribe (rewrite), on_session_subscribed, on_client_unsubscribe (keep), on_session_unsubscribed, on_client_disconnected', async () => {
    const a = await connectClient(n.b.port, { clientId: 'ev-a', username: 'alice', protocolVersion: 5 });
    const gotA = collect(a);
    await subscribe(a, 'ev/alias', { qos: 1 });
    await subscribe(a, 'ev/plain', { qos: 1 });
    await subscribe(a, 'ev/keep', { qos: 1 });
    // The UNSUBACK reason code of the one filter (mqtt-packet names the list `granted`).
    const unsuback = (topic: string) =>
      new Promise<number | undefined>((resolve, reject) =>
        a.unsubscribe(topic, (err, packet) =>
          err ? reject(err) : resolve((packet as { granted?: number[] } | undefined)?.granted?.[0]),
        ),
      );
    // false from on_client_unsubscribe keeps the subscription: UNSUBACK says unspecified error (0x80).
    assert.equal(await unsuback('ev/keep'), 0x80);
    assert.equal(await unsuback('ev/plain'), 0);
    assert.deepEqual(await notes(a), [
      'connected ev-a alice 0',
      'subscribe ev-a ev/alias',
      'session_subscribed ev-a ev/real',
      'subscribe ev-a ev/plain',
      'session_subscribed ev-a ev/plain',
      'subscribe ev-a ev/keep',
      'session_subscribed ev-a ev/keep',
      'unsubscribe ev-a ev/keep',
      'unsubscribe ev-a ev/plain',
      'session_unsubscribed ev-a ev/plain',
    ]);

    // What the client sees: ev/alias was subscribed as ev/real, ev/keep is still subscribed, ev/plain is not.
    for (const t of ['ev/plain', 'ev/real', 'ev/keep']) await publish(writer, t, t, { qos: 1 });
    assert.deepEqual(
      (await gotA.next(2)).map((m) => m.topic),
      ['ev/real', 'ev/keep'],
    );

    await end(a);
    // The $SYS disconnected event comes from the same hook run as the script's call.
    const sys = await nextAtReader();
    assert.match(sys.topic, /^\$SYS\/brokers\/[^/]+\/clients\/ev-a\/disconnected$/);
    // Its PUBACKs of the two messages went before its DISCONNECT.
    assert.deepEqual(await notes(writer), [
      'acked ev-a ev/real 1',
      'acked ev-a ev/keep 1',
      'disconnected ev-a alice normal',
    ]);
  });

  it('on_message_delivered rewrites each delivery for its subscriber; on_message_acked sees the QoS 1 PUBACKs', async () => {
    const subs = await Promise.all(
      ['ev-s1', 'ev-s2', 'ev-s0'].map((clientId) => connectClient(n.b.port, { clientId })),
    );
    const gots = subs.map((c) => collect(c));
    await subscribe(subs[0]!, 'ev/deliver', { qos: 1 });
    await subscribe(subs[1]!, 'ev/deliver', { qos: 1 });
    await subscribe(subs[2]!, 'ev/deliver', { qos: 0 });
    await notes(writer);
    await publish(writer, 'ev/deliver', 'hello', { qos: 1 });
    const payloads = await Promise.all(gots.map(async (g) => (await g.next(1))[0]!.payload.toString()));
    assert.deepEqual(payloads, ['hello for ev-s1', 'hello for ev-s2', 'hello for ev-s0']);
    // Each subscriber's PUBACK went out before its next packet: after a QoS 1 round trip of each, the
    // broker has seen them.
    for (const c of subs) await publish(c, 'ev/sync', '', { qos: 1 });
    assert.deepEqual((await notes(writer)).sort(), ['acked ev-s1 ev/deliver 1', 'acked ev-s2 ev/deliver 1']);
    for (const c of subs) await end(c);
    // Their disconnects, for the next reader of the notes.
    for (let i = 0; i < subs.length; i++) await nextAtReader();
  });
});

describe('lua_hook: the Lua boundary', () => {
  interface Vm {
    luaRuntime(): Promise<unknown>;
    LuaState: new (
      rt: unknown,
      name: string,
      source: string,
      budget: number,
    ) => { call(fn: string, args: unknown[]): unknown[]; close(): void };
    LuaCallError: new (...a: unknown[]) => Error;
  }
  const load = async () => (await import(join(repoRoot(), 'plugins', 'lua_hook', 'vm.js'))) as unknown as Vm;

  it('any bytes and text cross into Lua and back unchanged', async () => {
    const vm = await load();
    const rt = await vm.luaRuntime();
    const s = new vm.LuaState(rt, 'echo.lua', 'function echo(...) return ... end', 100_000);
    try {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 3000 }),
          fc.string(),
          fc.integer(),
          fc.boolean(),
          (b, t, i, f) => {
            const [rb, rt2, ri, rf] = s.call('echo', [Buffer.from(b), t, i, f]);
            return (
              Buffer.compare(rb as Buffer, Buffer.from(b)) === 0 &&
              (rt2 as Buffer).toString('utf8') === t &&
              ri === i &&
              rf === f
            );
          },
        ),
        { numRuns: 500 },
      );
    } finally {
      s.close();
    }
  });

  it('any script text either loads or fails with a LuaCallError; nothing else escapes', async () => {
    const vm = await load();
    const rt = await vm.luaRuntime();
    const pieces = fc.constantFrom(
      'function f() ',
      'end ',
      'while true do ',
      'error("x") ',
      'return ',
      'local t = {} ',
      'os.exit(1) ',
      'io.write("x") ',
      '(',
      ')',
      '"',
      '--[[',
      ']]',
      'x = x .. 1 ',
      'repeat until false ',
      'string.rep("a", 1000) ',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string()), { maxLength: 8 }), (parts) => {
        try {
          new vm.LuaState(rt, 'fuzz.lua', parts.join(''), 10_000).close();
        } catch (err) {
          if (!(err instanceof vm.LuaCallError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});
