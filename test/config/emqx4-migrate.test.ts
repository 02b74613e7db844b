/**
 * The EMQX 3.x/4.x config reader and the mapping behind `hermod migrate emqx4`, on seed 002's 3.x snippets
 * (the forms the end-to-end test's 4.4 tree does not use), plus fuzzing of the two parsers: any text either
 * parses or fails with ConfSyntaxError naming the line; loaded_plugins never throws.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ConfSyntaxError,
  parseConfText,
  parseLoadedPlugins,
} from '../../src/config/compat/emqx4/conf-file.js';
import { migrateEmqx4 } from '../../src/config/compat/emqx4/index.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { writeEmqx4Etc } from '../cli/emqx4-etc.js';
import { params } from '../fuzz/fuzz.js';

const OPTS = { gateways: ['stomp', 'mqttsn', 'coap'], webHookNameVsn: 'web_hook-1.0.0' };

describe('EMQX 4.x config files', () => {
  it('reads key = value lines: quoted values with escapes, comments, later settings win', () => {
    const entries = parseConfText(
      '## comment\nauth.mysql.server = 127.0.0.1:3306\n  a.b = "x = \\"y\\"" # note\n\na.b = z\n',
      'f.conf',
    );
    assert.deepEqual(
      entries.map((e) => [e.key, e.value, e.line]),
      [
        ['auth.mysql.server', '127.0.0.1:3306', 2],
        ['a.b', 'x = "y"', 3],
        ['a.b', 'z', 5],
      ],
    );
    assert.throws(
      () => parseConfText('ok = 1\nnot a setting\n', 'f.conf'),
      /f\.conf:2: expected "key = value"/,
    );
    assert.throws(() => parseConfText('a = "open\n', 'f.conf'), /f\.conf:1: unterminated quoted value/);
  });

  it('reads loaded_plugins in the 4.x term form and the 3.x list form', () => {
    assert.deepEqual(
      parseLoadedPlugins('{emqx_management, true}.\n{emqx_recon, false}.\n%% x\n{emqx_retainer,true}.'),
      ['emqx_management', 'emqx_retainer'],
    );
    assert.deepEqual(parseLoadedPlugins('[emqx_management, emqx_dashboard,\n emqx_auth_http].'), [
      'emqx_management',
      'emqx_dashboard',
      'emqx_auth_http',
    ]);
  });

  it('never throws anything but ConfSyntaxError, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        try {
          parseConfText(text, 'fuzz.conf');
        } catch (err) {
          assert.ok(err instanceof ConfSyntaxError, String(err));
        }
        parseLoadedPlugins(text);
      }),
      params(500),
    );
  });

  it('reads back any key and value it is given', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,8}){0,3}$/);
    const value = fc.string({ maxLength: 40 }).filter((v) => !v.includes('\n') && !v.includes('\r'));
    fc.assert(
      fc.property(key, value, (k, v) => {
        const quoted = `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
        const [e] = parseConfText(`${k} = ${quoted}\n`, 'x.conf');
        assert.equal(e?.key, k);
        assert.equal(e?.value, v);
      }),
      params(300),
    );
  });
});

describe('migrating seed 002 snippets (EMQX 3.x forms)', () => {
  const root = mkdtempSync(join(tmpdir(), 'hermod-emqx3-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  function tree(name: string, emqxConf: string, plugins: Record<string, string>, loaded: string): string {
    const etc = join(root, name, 'etc');
    mkdirSync(join(etc, 'plugins'), { recursive: true });
    writeFileSync(join(etc, 'emqx.conf'), emqxConf);
    for (const [n, t] of Object.entries(plugins)) writeFileSync(join(etc, 'plugins', `${n}.conf`), t);
    writeFileSync(join(etc, 'loaded_plugins'), loaded);
    return etc;
  }

  it('maps the 3.x HTTP, LDAP, username, retainer, CoAP and MQTT-SN snippets to a valid config', () => {
    const etc = tree(
      'a',
      'listener.tcp.external = 1883\nallow_anonymous = false\n',
      {
        emqx_auth_http: `auth.http.auth_req = http://127.0.0.1:8080/mqtt/auth
auth.http.auth_req.method = post
auth.http.auth_req.params = clientid=%c,username=%u,password=%P
auth.http.super_req = http://127.0.0.1:8080/mqtt/superuser
auth.http.super_req.method = post
auth.http.super_req.params = clientid=%c,username=%u
auth.http.acl_req = http://127.0.0.1:8080/mqtt/acl
auth.http.acl_req.method = get
auth.http.acl_req.params = access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t
`,
        emqx_auth_ldap: `auth.ldap.servers = 127.0.0.1
auth.ldap.port = 389
auth.ldap.timeout = 30
auth.ldap.user_dn = uid=%u,ou=People,dc=example,dc=com
auth.ldap.ssl = false
`,
        emqx_auth_username: `auth.user.1.username = admin
auth.user.1.password = public
auth.user.2.username = feng@emqtt.io
auth.user.2.password = public
`,
        emqx_retainer: `retainer.storage_type = disc
retainer.max_message_num = 1000000
retainer.max_payload_size = 64KB
retainer.expiry_interval = 0
`,
        emqx_coap: 'coap.server = 5683\ncoap.prefix.mqtt = mqtt\ncoap.handler.mqtt = emq_coap_gateway\n',
        emqx_sn: 'mqtt.sn.port = 1884\n',
      },
      '[emqx_auth_http, emqx_auth_ldap, emqx_auth_username, emqx_retainer, emqx_coap, emqx_sn].',
    );
    const r = migrateEmqx4(etc, OPTS);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads fields of the produced config directly
    const cfg = r.config as Record<string, any>;
    assert.deepEqual(
      cfg.authentication.map((a: { backend: string }) => a.backend),
      ['http', 'ldap', 'built_in_database'],
    );
    const [httpA, ldap, builtIn] = cfg.authentication;
    assert.equal(httpA.url, 'http://127.0.0.1:8080/mqtt/auth');
    assert.equal(httpA.params, 'clientid=%c,username=%u,password=%P');
    assert.deepEqual(httpA.super_req, {
      url: 'http://127.0.0.1:8080/mqtt/superuser',
      method: 'post',
      params: 'clientid=%c,username=%u',
    });
    assert.equal(ldap.user_dn, 'uid=%u,ou=People,dc=example,dc=com');
    assert.equal(ldap.server, '127.0.0.1:389');
    assert.equal(ldap.query_timeout, '30s');
    assert.equal(builtIn.bootstrap_file, 'emqx4-users.csv');
    assert.equal(
      r.files[0]?.content,
      'user_id,password,is_superuser\nadmin,public,false\nfeng@emqtt.io,public,false\n',
    );
    assert.deepEqual(cfg.authorization.sources[0], {
      type: 'http',
      url: 'http://127.0.0.1:8080/mqtt/acl',
      method: 'get',
      params: 'access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t',
    });
    assert.equal(cfg.retainer.backend.max_retained_messages, 1000000);
    assert.equal(cfg.retainer.backend.storage_type, 'disc');
    assert.equal(cfg.gateway.coap.listeners.udp.default.bind, '0.0.0.0:5683');
    assert.equal(cfg.gateway.coap.connection_required, false);
    assert.equal(cfg.gateway.mqttsn.listeners.udp.default.bind, '0.0.0.0:1884');
    const line = (k: string) => r.report.find((l) => l.key === k);
    assert.equal(line('coap.prefix.mqtt')?.status, 'unsupported');
    assert.match(line('coap.prefix.mqtt')?.reason ?? '', /\/ps\//);
    assert.equal(line('allow_anonymous')?.status, 'renamed');
    assert.equal(resolveConfig(r.config).ok, true);
  });

  it('without any auth plugin, allow_anonymous = false becomes an empty built-in database', () => {
    const etc = tree('b', 'allow_anonymous = false\nlistener.tcp.external = 1883\n', {}, '');
    const r = migrateEmqx4(etc, OPTS);
    assert.deepEqual(r.config.authentication, [
      { mechanism: 'password_based', backend: 'built_in_database' },
    ]);
  });

  it('skips the plugins loaded_plugins does not load, and a protocol plugin without a gateway is unsupported', () => {
    const etc = tree(
      'c',
      'listener.tcp.external = 1883\n',
      { emqx_auth_redis: 'auth.redis.server = 127.0.0.1:6379\n', emqx_lwm2m: 'lwm2m.port = 5683\n' },
      '{emqx_auth_redis, false}.\n{emqx_lwm2m, true}.',
    );
    const r = migrateEmqx4(etc, OPTS);
    const line = (k: string) => r.report.find((l) => l.key === k);
    assert.equal(line('auth.redis.server')?.status, 'skipped');
    assert.equal(line('lwm2m.port')?.status, 'unsupported');
    assert.match(line('lwm2m.port')?.reason ?? '', /no lwm2m gateway/);
    assert.equal(r.config.authentication, undefined);
  });

  it('maps an SSL listener: certificate paths under etc/, TLS versions as a list', () => {
    const etc = tree(
      'd',
      `listener.ssl.external = 8883
listener.ssl.external.keyfile = etc/certs/key.pem
listener.ssl.external.certfile = {{ platform_etc_dir }}/certs/cert.pem
listener.ssl.external.cacertfile = /abs/cacert.pem
listener.ssl.external.verify = verify_peer
listener.ssl.external.fail_if_no_peer_cert = true
listener.ssl.external.tls_versions = tlsv1.3,tlsv1.2
listener.ssl.external.handshake_timeout = 15s
listener.ssl.external.dhfile = etc/certs/dh-params.pem
`,
      {},
      '',
    );
    const r = migrateEmqx4(etc, OPTS);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads fields of the produced config directly
    const cfg = r.config as any;
    const ssl = cfg.listeners.ssl.default;
    assert.equal(ssl.bind, '0.0.0.0:8883');
    assert.deepEqual(ssl.ssl_options, {
      keyfile: join(etc, 'certs/key.pem'),
      certfile: join(etc, 'certs/cert.pem'),
      cacertfile: '/abs/cacert.pem',
      verify: 'verify_peer',
      fail_if_no_peer_cert: true,
      versions: ['tlsv1.3', 'tlsv1.2'],
      handshake_timeout: '15s',
    });
    assert.equal(r.report.find((l) => l.key === 'listener.ssl.external.dhfile')?.status, 'unsupported');
    assert.equal(cfg.listeners.tcp.default.enable, false, "Hermod's own tcp listener is off");
    assert.equal(resolveConfig(r.config).ok, true);
  });

  it('never throws on any value of any 4.4 key: a bad value is reported unsupported', () => {
    const base = join(root, 'fuzz-base');
    const etc = writeEmqx4Etc(
      base,
      { tcp: 1, tcpInternal: 2, ws: 3, dashboard: 4, stomp: 5, mqttsn: 6, mysql: 7, pgsql: 8, http: 9 },
      { my: { user: 'u', password: 'p', database: 'd' }, pg: { user: 'u', password: 'p', database: 'd' } },
    );
    const files = [
      join(etc, 'emqx.conf'),
      ...readdirSync(join(etc, 'plugins')).map((f) => join(etc, 'plugins', f)),
    ];
    const originals = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
    const value = fc.string({ maxLength: 20 }).map((v) => v.replace(/[\r\n"\\]/g, ''));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), value), { minLength: 1, maxLength: 8 }), (edits) => {
        for (const [file, text] of originals) {
          const lines = text.split('\n');
          for (const [i, v] of edits) {
            const n = i % lines.length;
            const eq = lines[n]!.indexOf('=');
            if (eq > 0) lines[n] = `${lines[n]!.slice(0, eq)}= "${v}"`;
          }
          writeFileSync(file, lines.join('\n'));
        }
        const r = migrateEmqx4(etc, {
          ...OPTS,
          plugins: [
            'emqx_auth_mysql',
            'emqx_auth_pgsql',
            'emqx_auth_http',
            'emqx_auth_ldap',
            'emqx_auth_mongo',
            'emqx_auth_redis',
            'emqx_auth_jwt',
            'emqx_auth_mnesia',
            'emqx_web_hook',
            'emqx_exhook',
            'emqx_stomp',
            'emqx_sn',
            'emqx_retainer',
            'emqx_dashboard',
          ],
        });
        assert.ok(r.report.length > 0);
      }),
      params(60),
    );
  });
});
