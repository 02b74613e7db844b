/**
 * `hermod migrate emqx4`: an EMQX 4.4 etc/ tree (default key names, seed 002's plugin snippets) becomes a
 * Hermod config and a report. The config is then started with `hermod start` as a user would, and behaves
 * as the 4.x install did: logins against seed 002's MariaDB and PostgreSQL tables (super_query included),
 * the HTTP auth plugin, 4.x mqtt_acl rows, acl.conf, the migrated listeners, the subscription module, and
 * the STOMP gateway. 4.4's emqx_lwm2m.conf is migrated and started on its own: a test LwM2M device registers
 * over UDP and DTLS and an MQTT application reads it on 4.x's topics.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseHocon } from '../../src/config/hocon/index.js';
import { MYSQL_SEED, PG_SEED, seedPostgres } from '../access/emqx4-seed.js';
import { loginCode, RC } from '../access/helpers.js';
import { codeText } from '../gateway/lwm2m/device/coap.js';
import { Lwm2mDevice } from '../gateway/lwm2m/device/device.js';
import { App } from '../gateway/lwm2m/helpers.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { freePort, type ServerProcess, waitForPort } from '../helpers/servers/common.js';
import { MY_DATABASE, MY_PASSWORD, MY_USER, startMariadb } from '../helpers/servers/mariadb.js';
import { PG_DATABASE, PG_PASSWORD, PG_USER, startPostgres } from '../helpers/servers/postgres.js';
import { type DtlsFixtures, makeDtlsFixtures } from '../transport/dtls/fixtures.js';
import { type Emqx4Ports, writeEmqx4Etc } from './emqx4-etc.js';

const BIN = fileURLToPath(new URL('../../../bin/hermod.js', import.meta.url));
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Report lines by 4.x key: "<status> <rest of the line>". */
function reportOf(stderr: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stderr.split('\n')) {
    const m = /^(mapped|renamed|unsupported|skipped)\s+(\S+)\s+(.*)$/.exec(line);
    if (m !== null) out.set(m[2]!, `${m[1]} ${m[3]}`);
  }
  return out;
}

/** Reads a STOMP frame's command after sending CONNECT. */
function stompConnect(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => s.write('CONNECT\naccept-version:1.2\nhost:x\n\n\0'));
    let text = '';
    s.on('data', (d) => {
      text += d.toString();
      if (text.includes('\0')) {
        s.destroy();
        resolve(text.split('\n')[0]!);
      }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no STOMP answer: ${text}`)), 10_000).unref();
  });
}

describe('hermod migrate emqx4', () => {
  let root: string;
  let ports: Emqx4Ports;
  let mysql: ServerProcess & { sql(text: string): string };
  let postgres: ServerProcess;
  let http: Server;
  let etc: string;
  let node: ChildProcess | undefined;
  let nodeOut = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hermod-migrate-'));
    [mysql, postgres] = await Promise.all([startMariadb(), startPostgres()]);
    mysql.sql(`${MYSQL_SEED}
      INSERT INTO mqtt_user (username, password, is_superuser) VALUES
        ('alice', '${sha('alice-pw')}', 0), ('admin4', '${sha('admin-pw')}', NULL);
      UPDATE mqtt_user SET is_superuser = 1 WHERE username = 'admin4';`);
    await seedPostgres(
      postgres.port,
      `${PG_SEED}\nINSERT INTO mqtt_user (username, password, is_superuser) VALUES ('pgonly', '${sha('pg-pw')}', false);`,
    );
    // The HTTP auth plugin's server: webuser logs in; acl answers 403 under web/deny/, 200 under web/,
    // and 503 (no decision) elsewhere, so the later sources decide.
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        const f = Object.fromEntries(new URLSearchParams(body));
        let status = 401;
        if (req.url === '/mqtt/auth')
          status = f.username === 'webuser' && f.password === 'web-pw' ? 200 : 401;
        if (req.url === '/mqtt/acl') {
          const t = f.topic ?? '';
          status = t.startsWith('web/deny/') ? 403 : t.startsWith('web/') ? 200 : 503;
        }
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const free = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    ports = {
      tcp: free[0]!,
      tcpInternal: free[1]!,
      ws: free[2]!,
      dashboard: free[3]!,
      stomp: free[4]!,
      mqttsn: free[5]!,
      mysql: mysql.port,
      pgsql: postgres.port,
      http: (http.address() as AddressInfo).port,
    };
    etc = writeEmqx4Etc(root, ports, {
      my: { user: MY_USER, password: MY_PASSWORD, database: MY_DATABASE },
      pg: { user: PG_USER, password: PG_PASSWORD, database: PG_DATABASE },
    });
  });

  after(async () => {
    if (node !== undefined && node.exitCode === null) {
      const exited = new Promise((r) => node!.once('exit', r));
      node.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => http?.close(r));
    await mysql?.stop();
    await postgres?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the config and reports each key: mapped, renamed, unsupported with a reason, skipped', async () => {
    const out = join(root, 'hermod', 'hermod.conf');
    const r = await hermod(['migrate', 'emqx4', etc, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const report = reportOf(r.stderr);
    assert.match(report.get('mqtt.max_packet_size')!, /^mapped -> mqtt\.max_packet_size/);
    assert.match(report.get('auth.mysql.auth_query')!, /^renamed -> authentication\[mysql\]\.query/);
    assert.match(
      report.get('auth.http.super_req.url')!,
      /^renamed -> authentication\[http\]\.super_req\.url/,
    );
    assert.match(report.get('listener.tcp.external')!, /^renamed -> listeners\.tcp\.default\.bind/);
    assert.match(
      report.get('zone.external.session_expiry_interval')!,
      /^renamed -> mqtt\.session_expiry_interval/,
    );
    assert.match(report.get('module.subscription.1.topic')!, /^renamed -> auto_subscribe\.topics/);
    assert.match(report.get('zone.external.force_gc_policy')!, /^unsupported .*Node\.js/);
    assert.match(report.get('allow_anonymous')!, /^unsupported .*refuses a client none of them accepts/);
    assert.match(
      report.get('web.hook.rule.client.connect.1')!,
      /^unsupported .*does not post client\.connect/,
    );
    assert.match(report.get('auth.redis.auth_cmd')!, /^skipped plugin emqx_auth_redis is not loaded/);
    // emqx_lua_hook.conf sets nothing, yet the loaded plugin gets its line, pointing at the lua_hook plugin
    // and at where 4.x kept the scripts.
    assert.match(
      report.get('emqx_lua_hook')!,
      /^renamed -> plugins\.states\[lua_hook-1\.0\.0\] \(Lua hook scripts run as they are under the shipped lua_hook plugin.*data\/scripts.*\[loaded_plugins:\d+\]$/,
    );
    // emqx_reloader's keys point at the reloader plugin, not at diagnostics.
    for (const key of ['reloader.interval', 'reloader.logfile']) {
      assert.match(report.get(key)!, /^unsupported .*shipped reloader plugin .*node\.profile = dev/);
      assert.doesNotMatch(report.get(key)!, /diagnostics|recon/);
    }
    assert.match(report.get('recon.gc_interval')!, /^unsupported .*diagnostics plugin/);
    assert.match(r.stderr, /\d+ mapped, \d+ renamed, \d+ unsupported, \d+ skipped/);

    const parsed = parseHocon(readFileSync(out, 'utf8'), { file: out });
    assert.ok(parsed.ok);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads fields of the written config directly
    const cfg = parsed.value as Record<string, any>;
    assert.deepEqual(
      cfg.authentication.map((a: { backend: string }) => a.backend),
      ['mysql', 'postgresql', 'http'],
    );
    assert.deepEqual(
      cfg.authorization.sources.map((s: { type: string }) => s.type),
      ['mysql', 'postgresql', 'http', 'file'],
    );
    assert.equal(cfg.authorization.no_match, 'deny');
    assert.equal(cfg.mqtt.keepalive_multiplier, 1.5);
    assert.deepEqual(cfg.gateway.mqttsn.predefined, [
      { id: 1, topic: '/predefined/topic/name/hello' },
      { id: 2, topic: '/predefined/topic/name/nice' },
    ]);
    // web_hook's settings go to the plugin's own config file.
    const hook = parseHocon(readFileSync(join(root, 'hermod', 'web_hook.config.hocon'), 'utf8'), {
      file: 'x',
    });
    assert.ok(hook.ok);
    assert.deepEqual((hook.value as Record<string, unknown>).rules, [
      { event: 'client.connected' },
      { event: 'message.publish', topics: ['sensors/#'] },
    ]);
    // Both shipped plugins the 4.x install loaded are turned on.
    assert.deepEqual(cfg.plugins.states, [
      { name_vsn: 'web_hook-1.0.0', enable: true },
      { name_vsn: 'lua_hook-1.0.0', enable: true },
    ]);
  });

  it('gives a loaded plugin whose file sets nothing a line of its own, with the reason', async () => {
    // 4.4's own files for these plugins: comments only.
    const bare = join(root, 'bare', 'etc');
    mkdirSync(join(bare, 'plugins'), { recursive: true });
    writeFileSync(join(bare, 'emqx.conf'), `listener.tcp.external = ${ports.tcp}\n`);
    for (const p of ['emqx_lua_hook', 'emqx_reloader', 'emqx_rule_engine'])
      writeFileSync(join(bare, 'plugins', `${p}.conf`), '##--------\n## nothing set\n');
    const r = await hermod([
      'migrate',
      'emqx4',
      bare,
      '--plugins',
      'emqx_lua_hook,emqx_reloader,emqx_rule_engine',
      '--output',
      join(root, 'bare', 'hermod.conf'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = reportOf(r.stderr);
    assert.match(
      report.get('emqx_lua_hook')!,
      /^renamed -> plugins\.states\[lua_hook-1\.0\.0\] .*\[--plugins\]$/,
    );
    assert.match(report.get('emqx_reloader')!, /^unsupported .*shipped reloader plugin.*\[--plugins\]$/);
    assert.doesNotMatch(report.get('emqx_reloader')!, /diagnostics|recon/);
    assert.match(report.get('emqx_rule_engine')!, /^unsupported no rule engine yet/);
    assert.match(r.stderr, /0 mapped, 2 renamed, 2 unsupported, 0 skipped/);
  });

  it('starts with `hermod start` and behaves as the 4.x install: logins, ACL, listeners, modules, gateways', async () => {
    const cwd = join(root, 'hermod');
    const conf = join(cwd, 'hermod.conf');
    assert.ok(existsSync(conf), 'the first test wrote the config');
    // Without the web_hook package installed here, leave it out (its own test covers it).
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/plugins \{[\s\S]*?\n\}\n/, ''));
    node = spawn(process.execPath, [BIN, 'start', '--config', conf], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_TEST_CONTEXT: '' },
    });
    node.stdout!.on('data', (d) => (nodeOut += d));
    node.stderr!.on('data', (d) => (nodeOut += d));
    await waitForPort(ports.tcp, 90_000, node).catch((err: Error) => {
      throw new Error(`${err.message}\n${nodeOut}`);
    });

    // Logins: MariaDB row, PostgreSQL row (MySQL does not know the user), the HTTP plugin, and refusals.
    // The first login waits for the node's database and HTTP connections: on a loaded machine, seconds.
    const first = { username: 'alice', password: 'alice-pw', connackTimeoutMs: 20_000 };
    assert.equal(await loginCode(ports.tcp, first), RC.OK);
    assert.equal(await loginCode(ports.tcp, { username: 'alice', password: 'nope' }), RC.BAD_USER);
    assert.equal(await loginCode(ports.tcp, { username: 'pgonly', password: 'pg-pw' }), RC.OK);
    assert.equal(await loginCode(ports.tcp, { username: 'webuser', password: 'web-pw' }), RC.OK);
    assert.notEqual(await loginCode(ports.tcp, {}), RC.OK, 'anonymous: the HTTP plugin answers 401');
    // The internal listener is there too.
    assert.equal(await loginCode(ports.tcpInternal, { username: 'alice', password: 'alice-pw' }), RC.OK);

    // ACL: the seed's mqtt_acl rows ('eq #' denies subscribing to # itself), HTTP acl_req, then acl.conf.
    const alice = await connectClient(ports.tcp, {
      clientId: 'mig-alice',
      username: 'alice',
      password: 'alice-pw',
      protocolVersion: 5,
    });
    const got = collect(alice);
    await assert.rejects(subscribe(alice, '#', { qos: 0 }), /Not authorized|135/i);
    await assert.rejects(subscribe(alice, 'web/deny/x', { qos: 0 }), /Not authorized|135/i);
    await subscribe(alice, 'web/ok', { qos: 0 });
    await subscribe(alice, 'free/topic', { qos: 0 });
    // super_query makes admin4 a superuser: no ACL applies.
    const admin = await connectClient(ports.tcp, {
      clientId: 'mig-admin',
      username: 'admin4',
      password: 'admin-pw',
      protocolVersion: 5,
    });
    await subscribe(admin, '#', { qos: 0 });
    // module.subscription.1.topic = connected/%c/%u subscribed alice at connect.
    await publish(admin, 'connected/mig-alice/alice', 'hi', { qos: 1 });
    await publish(admin, 'free/topic', 'free', { qos: 1 });
    const msgs = await got.next(2);
    assert.deepEqual(msgs.map((m) => m.topic).sort(), ['connected/mig-alice/alice', 'free/topic']);
    await end(admin);
    await end(alice);

    // The WebSocket listener at its 4.x path.
    const ws = await connectClient(0, {
      host: '127.0.0.1',
      port: ports.ws,
      protocol: 'ws',
      path: '/mqtt',
      username: 'pgonly',
      password: 'pg-pw',
    });
    await end(ws);

    // The STOMP plugin became the STOMP gateway on the same port.
    assert.equal(await stompConnect(ports.stomp), 'CONNECTED');
  });

  it('refuses a directory without emqx.conf, with a clear message', async () => {
    const r = await hermod(['migrate', 'emqx4', join(root, 'nowhere')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /emqx\.conf not found/);
  });
});

describe('hermod migrate emqx4: emqx_lwm2m', () => {
  let root: string;
  let fx: DtlsFixtures;
  let node: ChildProcess | undefined;
  let nodeOut = '';
  let app: App | undefined;
  const devices: Lwm2mDevice[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hermod-migrate-lwm2m-'));
    fx = makeDtlsFixtures();
  });
  after(async () => {
    for (const d of devices) d.close();
    await app?.close();
    if (node !== undefined && node.exitCode === null) {
      const exited = new Promise((r) => node!.once('exit', r));
      node.kill('SIGTERM');
      await exited;
    }
    fx.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it("4.4's emqx_lwm2m.conf becomes gateway.lwm2m: a device registers over UDP and DTLS, the application reads it on the 4.x topics", async () => {
    const [tcp, udp, dtls] = await Promise.all([freePort(), freePort(), freePort()]);
    const etc = join(root, 'etc');
    mkdirSync(join(etc, 'plugins'), { recursive: true });
    mkdirSync(join(etc, 'certs'));
    mkdirSync(join(etc, 'lwm2m_xml'));
    copyFileSync(fx.serverCert, join(etc, 'certs', 'cert.pem'));
    copyFileSync(fx.serverKey, join(etc, 'certs', 'key.pem'));
    writeFileSync(join(etc, 'emqx.conf'), `listener.tcp.external = 127.0.0.1:${tcp}\n`);
    // EMQX 4.4's emqx_lwm2m.conf, its default values, the test's ports.
    writeFileSync(
      join(etc, 'plugins', 'emqx_lwm2m.conf'),
      `lwm2m.lifetime_min = 1s
lwm2m.lifetime_max = 86400s
lwm2m.qmode_time_window = 22
lwm2m.auto_observe = off
lwm2m.mountpoint = lwm2m/%e/
lwm2m.topics.command = dn/#
lwm2m.topics.response = up/resp
lwm2m.topics.notify = up/notify
lwm2m.topics.register = up/resp
lwm2m.topics.update = up/resp
lwm2m.update_msg_publish_condition = contains_object_list
lwm2m.opts.buffer = 1024KB
lwm2m.opts.recbuf = 1024KB
lwm2m.opts.sndbuf = 1024KB
lwm2m.opts.read_packets = 20
lwm2m.bind.udp.1 = 127.0.0.1:${udp}
lwm2m.bind.dtls.1 = 127.0.0.1:${dtls}
lwm2m.dtls.keyfile = etc/certs/key.pem
lwm2m.dtls.certfile = etc/certs/cert.pem
lwm2m.xml_dir = etc/lwm2m_xml
`,
    );
    writeFileSync(join(etc, 'loaded_plugins'), '{emqx_lwm2m, true}.\n');
    const out = join(root, 'hermod', 'hermod.conf');
    const r = await hermod(['migrate', 'emqx4', etc, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const report = reportOf(r.stderr);
    assert.match(
      report.get('lwm2m.bind.udp.1')!,
      /^renamed -> gateway\.lwm2m\.listeners\.udp\.default\.bind/,
    );
    assert.match(
      report.get('lwm2m.bind.dtls.1')!,
      /^renamed -> gateway\.lwm2m\.listeners\.dtls\.default\.bind/,
    );
    assert.match(
      report.get('lwm2m.dtls.certfile')!,
      /^renamed -> gateway\.lwm2m\.listeners\.dtls\.default\.dtls_options\.certfile/,
    );
    assert.match(report.get('lwm2m.mountpoint')!, /^renamed -> gateway\.lwm2m\.mountpoint/);
    assert.match(
      report.get('lwm2m.topics.command')!,
      /^renamed -> gateway\.lwm2m\.translators\.command\.topic/,
    );
    assert.match(
      report.get('lwm2m.update_msg_publish_condition')!,
      /^renamed -> gateway\.lwm2m\.update_msg_publish_condition/,
    );
    assert.match(report.get('lwm2m.opts.recbuf')!, /^unsupported UDP socket options/);
    const parsed = parseHocon(readFileSync(out, 'utf8'), { file: out });
    assert.ok(parsed.ok);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads fields of the written config directly
    const gw = (parsed.value as Record<string, any>).gateway.lwm2m;
    assert.equal(gw.mountpoint, 'lwm2m/${endpoint_name}/');
    assert.equal(gw.qmode_time_window, '22s');
    assert.equal(gw.xml_dir, join(etc, 'lwm2m_xml'));

    node = spawn(process.execPath, [BIN, 'start', '--config', out], {
      cwd: join(root, 'hermod'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_TEST_CONTEXT: '' },
    });
    // The node says it runs once every listener, gateways' included, is bound.
    const running = new Promise<void>((resolve, reject) => {
      const seen = (d: Buffer) => {
        nodeOut += d;
        if (/is running/.test(nodeOut)) resolve();
      };
      node!.stdout!.on('data', seen);
      node!.stderr!.on('data', seen);
      node!.once('exit', (code) => reject(new Error(`hermod start exited (${code}):\n${nodeOut}`)));
    });
    await running;
    app = await App.open(tcp);

    // UDP: 4.x's mountpoint and register topic, EMQX's register JSON.
    const d = await Lwm2mDevice.open({ port: udp, ep: 'mig-udp', lt: 600 });
    devices.push(d);
    assert.equal(codeText((await d.register()).code), '2.01');
    const reg = await app.next((u) => u.topic === 'lwm2m/mig-udp/up/resp' && u.json.msgType === 'register');
    assert.equal(reg.json.data?.ep, 'mig-udp');
    assert.equal(reg.json.data?.lt, 600);

    // DTLS: the certificate files carried from lwm2m.dtls.* let the handshake complete.
    const s = await Lwm2mDevice.overDtls({ port: dtls, ep: 'mig-dtls' }, {});
    devices.push(s);
    assert.equal(codeText((await s.register()).code), '2.01');
    await app.next((u) => u.topic === 'lwm2m/mig-dtls/up/resp' && u.json.msgType === 'register');
  });
});
