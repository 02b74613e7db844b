/**
 * EMQX 3.x/4.x authentication plugins → Hermod authenticators (and authorization sources for their ACL
 * queries). Each plugin's keys keep their 4.x values where Hermod reads the 4.x form as it is (queries with
 * `%u`, one-string password_hash, Redis commands, Mongo selectors, HTTP params, LDAP user_dn).
 */
import { readFileSync } from 'node:fs';
import { bool, duration, int, type JsonObject, type Migration } from './migration.js';

/** What one plugin produces. */
export interface AuthOutput {
  authenticator?: JsonObject;
  source?: JsonObject;
}

type Obj = JsonObject;

/**
 * Reads `prefix + key` into `obj[field]` (converted) and records it. The report names the list entry the
 * key went to, `where` (e.g. `authentication[mysql]`).
 */
function take(
  m: Migration,
  obj: Obj,
  where: string,
  key: string,
  field: string,
  convert: (v: string) => unknown = (v) => v,
): void {
  const v = m.get(key);
  if (v === undefined) return;
  try {
    obj[field] = convert(v);
    m.carried(key, `${where}.${field}`);
  } catch (err) {
    m.unsupported(key, `value not understood: ${(err as Error).message}`);
  }
}

/** `host:port` or `host` (+ a separate port key) as Hermod's server string. */
function server(v: string, port: string | undefined): string {
  const s = v.trim();
  if (/^\d+$/.test(s)) return `127.0.0.1:${s}`;
  return port !== undefined && !s.includes(':') ? `${s}:${port}` : s;
}

/** `auth.<x>.ssl…` client TLS options (4.x: `ssl = on` or `ssl.enable = on`, and the file keys). */
function clientSsl(m: Migration, p: string, where: string, obj: Obj): void {
  const ssl: Obj = {};
  for (const flag of [`${p}.ssl`, `${p}.ssl.enable`]) {
    const v = m.get(flag);
    if (v === undefined) continue;
    try {
      ssl.enable = bool(v);
      m.carried(flag, `${where}.ssl.enable`);
    } catch {
      m.unsupported(flag, 'expected on/off');
    }
  }
  for (const opts of [`${p}.ssl`, `${p}.ssl_opts`])
    for (const f of ['cacertfile', 'certfile', 'keyfile']) {
      const key = `${opts}.${f}`;
      if (m.has(key)) {
        ssl[f] = m.path(m.get(key)!);
        ssl.enable ??= true;
        m.carried(key, `${where}.ssl.${f}`);
      }
    }
  take(m, ssl, `${where}.ssl`, `${p}.ssl.verify`, 'verify', (v) => (bool(v) ? 'verify_peer' : 'verify_none'));
  take(m, ssl, `${where}.ssl`, `${p}.ssl.server_name_indication`, 'server_name_indication');
  if (Object.keys(ssl).length > 0) obj.ssl = ssl;
}

type KeySpec = [key: string, field: string, convert?: (v: string) => unknown];

/** A plugin's connection keys (`<p>.<key>` → field, converted) and its TLS options. */
function connection(m: Migration, p: string, where: string, spec: readonly KeySpec[]): Obj {
  const conn: Obj = {};
  for (const [key, field, convert] of spec) take(m, conn, where, `${p}.${key}`, field, convert);
  clientSsl(m, p, where, conn);
  return conn;
}

const asServer = (v: string) => server(v, undefined);

/**
 * A plugin of three queries (SQL) or commands (Redis): authentication with its password hash, the
 * superuser lookup, and the ACL query that becomes a source with the same connection.
 */
function queryPlugin(
  m: Migration,
  backend: string,
  p: string,
  conn: Obj,
  keys: { auth: string; field: string; super: string; acl: string },
): AuthOutput {
  const out: AuthOutput = {};
  const where = `authentication[${backend}]`;
  if (m.has(`${p}.${keys.auth}`)) {
    const a: Obj = { mechanism: 'password_based', backend, ...conn };
    take(m, a, where, `${p}.${keys.auth}`, keys.field);
    take(m, a, where, `${p}.password_hash`, 'password_hash_algorithm');
    take(m, a, where, `${p}.${keys.super}`, keys.super);
    out.authenticator = a;
  }
  if (m.has(`${p}.${keys.acl}`)) {
    const s: Obj = { type: backend, ...conn };
    take(m, s, `authorization.sources[${backend}]`, `${p}.${keys.acl}`, keys.field);
    out.source = s;
  }
  return out;
}

function sqlPlugin(m: Migration, backend: 'mysql' | 'postgresql', p: string): AuthOutput {
  const conn = connection(m, p, `authentication[${backend}]`, [
    ['server', 'server', asServer],
    ['pool', 'pool_size', int],
    ['username', 'username'],
    ['password', 'password'],
    ['database', 'database'],
    ['query_timeout', 'query_timeout', duration],
  ]);
  m.unsupported(`${p}.encoding`, 'the connection is always UTF-8');
  return queryPlugin(m, backend, p, conn, {
    auth: 'auth_query',
    field: 'query',
    super: 'super_query',
    acl: 'acl_query',
  });
}

function redisPlugin(m: Migration): AuthOutput {
  const p = 'auth.redis';
  const single = (m.get(`${p}.type`) ?? 'single') === 'single';
  const conn = connection(m, p, 'authentication[redis]', [
    ['type', 'redis_type'],
    ['server', single ? 'server' : 'servers', asServer],
    ['sentinel', 'sentinel'],
    ['pool', 'pool_size', int],
    ['database', 'database', int],
    ['password', 'password'],
    ['query_timeout', 'command_timeout', duration],
  ]);
  return queryPlugin(m, 'redis', p, conn, {
    auth: 'auth_cmd',
    field: 'cmd',
    super: 'super_cmd',
    acl: 'acl_cmd',
  });
}

function mongoPlugin(m: Migration): AuthOutput {
  const p = 'auth.mongo';
  const where = 'authentication[mongodb]';
  const conn = connection(m, p, where, [
    ['type', 'mongo_type', (v) => (v === 'unknown' ? 'single' : v)],
    ['server', 'server', asServer],
    ['pool', 'pool_size', int],
    ['username', 'username'],
    ['login', 'username'],
    ['password', 'password'],
    ['auth_source', 'auth_source'],
    ['database', 'database'],
    ['query_timeout', 'query_timeout', duration],
    ['w_mode', 'w_mode'],
  ]);
  const out: AuthOutput = {};
  const a: Obj = { mechanism: 'password_based', backend: 'mongodb', ...conn };
  take(m, a, where, `${p}.auth_query.collection`, 'collection');
  take(m, a, where, `${p}.auth_query.password_field`, 'password_field', (v) => v.split(',')[0]!.trim());
  take(m, a, where, `${p}.auth_query.password_hash`, 'password_hash_algorithm');
  take(m, a, where, `${p}.auth_query.selector`, 'selector');
  if (a.collection !== undefined) out.authenticator = a;
  if (m.read(`${p}.super_query`, bool) !== false) {
    m.carried(`${p}.super_query`, `${where}.is_superuser_field`);
    take(m, a, where, `${p}.super_query.super_field`, 'super_field');
    for (const k of ['collection', 'selector'])
      if (m.get(`${p}.super_query.${k}`) === m.get(`${p}.auth_query.${k}`))
        m.carried(`${p}.super_query.${k}`, `${where}.${k}`);
      else m.unsupported(`${p}.super_query.${k}`, 'the superuser flag is read from the user document itself');
  } else m.unsupportedAll(`${p}.super_query`, 'super_query is off');
  if (m.read(`${p}.acl_query`, bool) !== false) {
    m.carried(`${p}.acl_query`, 'authorization.sources[mongodb]');
    const s: Obj = { type: 'mongodb', ...conn };
    take(m, s, 'authorization.sources[mongodb]', `${p}.acl_query.collection`, 'collection');
    const selectors = m.keysUnder(`${p}.acl_query.selector`);
    if (selectors.length > 0) {
      take(m, s, 'authorization.sources[mongodb]', selectors[0]!, 'selector');
      for (const extra of selectors.slice(1))
        m.unsupported(extra, 'one selector per source: add another mongodb source for it');
    }
    if (s.collection !== undefined) out.source = s;
  } else m.unsupportedAll(`${p}.acl_query`, 'acl_query is off');
  return out;
}

function ldapPlugin(m: Migration): AuthOutput {
  const p = 'auth.ldap';
  const where = 'authentication[ldap]';
  const a: Obj = { mechanism: 'password_based', backend: 'ldap' };
  const host = (m.get(`${p}.servers`) ?? '127.0.0.1').split(',')[0]!.trim();
  a.server = server(host, m.get(`${p}.port`));
  m.carried(`${p}.servers`, `${where}.server`);
  m.carried(`${p}.port`, `${where}.server`);
  take(m, a, where, `${p}.pool`, 'pool_size', int);
  take(m, a, where, `${p}.bind_dn`, 'username');
  take(m, a, where, `${p}.bind_password`, 'password');
  take(m, a, where, `${p}.timeout`, 'query_timeout', (v) =>
    duration(/^\d+$/.test(v.trim()) ? `${v.trim()}s` : v),
  );
  clientSsl(m, p, where, a);
  if (m.has(`${p}.user_dn`)) take(m, a, where, `${p}.user_dn`, 'user_dn');
  else {
    take(m, a, where, `${p}.device_dn`, 'base_dn');
    const cls = m.get(`${p}.match_objectclass`) ?? 'mqttUser';
    const attr = m.get(`${p}.username.attributetype`) ?? 'uid';
    a.filter = `(&(objectClass=${cls})(${attr}=\${username}))`;
    m.carried(`${p}.match_objectclass`, `${where}.filter`);
    m.carried(`${p}.username.attributetype`, `${where}.filter`);
    const pw = m.get(`${p}.password.attributetype`);
    if (pw !== undefined) {
      a.method = { type: 'hash', password_attribute: pw };
      m.carried(`${p}.password.attributetype`, `${where}.method.password_attribute`);
    }
  }
  return { authenticator: a };
}

function httpRequest(m: Migration, p: string, req: string, where: string): Obj | undefined {
  // 3.x: `auth.http.auth_req = URL`; 4.x: `auth.http.auth_req.url = URL`.
  const urlKey = m.has(`${p}.${req}.url`) ? `${p}.${req}.url` : `${p}.${req}`;
  if (!m.has(urlKey)) return undefined;
  const r: Obj = {};
  take(m, r, where, urlKey, 'url');
  take(m, r, where, `${p}.${req}.method`, 'method', (v) => v.toLowerCase());
  // %m (mountpoint) and %r (protocol) are 4.x HTTP-plugin letters the other plugins did not have.
  take(m, r, where, `${p}.${req}.params`, 'params', (v) =>
    v.replace(/%m(?![A-Za-z0-9_])/g, '${mountpoint}').replace(/%r(?![A-Za-z0-9_])/g, '${proto_name}'),
  );
  const headers: Obj = {};
  for (const k of m.keysUnder(`${p}.${req}.headers.`))
    take(m, headers, `${where}.headers`, k, k.slice(`${p}.${req}.headers.`.length));
  if (Object.keys(headers).length > 0) r.headers = headers;
  r.params ??= '';
  return r;
}

function httpPlugin(m: Migration): AuthOutput {
  const p = 'auth.http';
  const where = 'authentication[http]';
  const common: Obj = {};
  take(m, common, where, `${p}.timeout`, 'request_timeout', duration);
  take(m, common, where, `${p}.request.timeout`, 'request_timeout', duration);
  take(m, common, where, `${p}.connect_timeout`, 'connect_timeout', duration);
  take(m, common, where, `${p}.pool_size`, 'pool_size', int);
  m.unsupported(`${p}.enable_pipelining`, 'requests are pooled per origin by Node.js');
  m.unsupportedAll(`${p}.request.retry`, 'a failed request is not retried: the client is told to retry');
  const ssl: Obj = {};
  for (const f of ['cacertfile', 'certfile', 'keyfile'])
    if (m.has(`${p}.ssl.${f}`)) {
      ssl[f] = m.path(m.get(`${p}.ssl.${f}`)!);
      m.carried(`${p}.ssl.${f}`, `${where}.ssl.${f}`);
    }
  take(m, ssl, `${where}.ssl`, `${p}.ssl.verify`, 'verify', (v) => (bool(v) ? 'verify_peer' : 'verify_none'));
  take(m, ssl, `${where}.ssl`, `${p}.ssl.server_name_indication`, 'server_name_indication');
  const out: AuthOutput = {};
  const auth = httpRequest(m, p, 'auth_req', where);
  if (auth !== undefined) {
    const tls = String(auth.url).startsWith('https:') || Object.keys(ssl).length > 0;
    out.authenticator = {
      mechanism: 'password_based',
      backend: 'http',
      ...common,
      ...auth,
      ...(tls ? { ssl: { enable: true, ...ssl } } : {}),
    };
    const sup = httpRequest(m, p, 'super_req', `${where}.super_req`);
    if (sup !== undefined) out.authenticator.super_req = sup;
  }
  const acl = httpRequest(m, p, 'acl_req', 'authorization.sources[http]');
  if (acl !== undefined) {
    const tls = String(acl.url).startsWith('https:') || Object.keys(ssl).length > 0;
    out.source = { type: 'http', ...common, ...acl, ...(tls ? { ssl: { enable: true, ...ssl } } : {}) };
  }
  return out;
}

function jwtPlugin(m: Migration): AuthOutput {
  const p = 'auth.jwt';
  const where = 'authentication[jwt]';
  const a: Obj = { mechanism: 'jwt' };
  take(m, a, where, `${p}.from`, 'from');
  if (m.has(`${p}.jwks`)) {
    a.use_jwks = true;
    take(m, a, where, `${p}.jwks`, 'endpoint');
    take(m, a, where, `${p}.jwks.refresh_interval`, 'refresh_interval', duration);
    m.unsupported(`${p}.secret`, 'a JWKS endpoint is used instead');
    m.unsupported(`${p}.pubkey`, 'a JWKS endpoint is used instead');
  } else if (m.has(`${p}.pubkey`)) {
    const file = m.path(m.get(`${p}.pubkey`)!);
    try {
      a.algorithm = 'public-key';
      a.public_key = readFileSync(file, 'utf8');
      m.carried(`${p}.pubkey`, `${where}.public_key`, `the PEM text of ${file}`);
    } catch {
      m.unsupported(`${p}.pubkey`, `${file} cannot be read`);
    }
    m.unsupported(`${p}.secret`, 'the public key is used instead');
  } else if (m.has(`${p}.secret`)) {
    a.algorithm = 'hmac-based';
    take(m, a, where, `${p}.secret`, 'secret');
  }
  m.unsupported(`${p}.signature_format`, 'signatures are read in the JWS (raw) form');
  if (m.read(`${p}.verify_claims`, bool) === true) {
    m.carried(`${p}.verify_claims`, `${where}.verify_claims`);
    const claims: Obj = {};
    for (const k of m.keysUnder(`${p}.verify_claims.`))
      take(m, claims, `${where}.verify_claims`, k, k.slice(`${p}.verify_claims.`.length));
    a.verify_claims = claims;
  } else m.unsupportedAll(`${p}.verify_claims`, 'verify_claims is off');
  take(m, a, where, `${p}.acl_claim_name`, 'acl_claim_name');
  return { authenticator: a };
}

/** The users `auth.user.N.username|password` / `auth.client.N.clientid|password` of the built-in plugins. */
function builtInUsers(m: Migration, kind: 'user' | 'client'): Array<{ id: string; password: string }> {
  const field = kind === 'user' ? 'username' : 'clientid';
  const out: Array<{ id: string; password: string }> = [];
  for (const k of m.keysUnder(`auth.${kind}.`)) {
    const n = /^auth\.(user|client)\.(\d+)\.(username|clientid)$/.exec(k);
    if (n === null || n[3] !== field) continue;
    const pwKey = `auth.${kind}.${n[2]}.password`;
    const password = m.get(pwKey);
    if (password === undefined) continue;
    out.push({ id: m.get(k)!, password });
    m.carried(k, 'authentication[built_in_database].bootstrap_file');
    m.carried(pwKey, 'authentication[built_in_database].bootstrap_file');
  }
  return out;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** emqx_auth_mnesia (4.3+), emqx_auth_username and emqx_auth_clientid (3.x): the built-in database. */
function builtInPlugin(m: Migration, plugin: string): AuthOutput {
  const where = 'authentication[built_in_database]';
  const a: Obj = { mechanism: 'password_based', backend: 'built_in_database' };
  for (const k of ['auth.mnesia.password_hash', 'auth.user.password_hash', 'auth.client.password_hash'])
    take(m, a, where, k, 'password_hash_algorithm', (v) => v.trim());
  const users = plugin === 'emqx_auth_clientid' ? [] : builtInUsers(m, 'user');
  const clients = plugin === 'emqx_auth_username' ? [] : builtInUsers(m, 'client');
  if (users.length > 0 && clients.length > 0)
    for (const k of m.keysUnder('auth.client.'))
      m.unsupported(
        k,
        'one built-in database per chain: its users are by username here (add client ids as users by hand)',
      );
  const chosen = users.length > 0 ? users : clients;
  if (users.length === 0 && clients.length > 0) a.user_id_type = 'clientid';
  if (chosen.length > 0) {
    const name = 'emqx4-users.csv';
    m.files.push({
      name,
      what: `users of ${plugin}`,
      content: `user_id,password,is_superuser\n${chosen.map((u) => `${csvField(u.id)},${csvField(u.password)},false`).join('\n')}\n`,
    });
    a.bootstrap_file = name;
    a.bootstrap_type = 'plain';
  }
  return { authenticator: a };
}

/** The authentication plugins this migration knows, by 4.x plugin name, in the order 4.x lists them. */
export const AUTH_PLUGINS: Readonly<Record<string, (m: Migration, plugin: string) => AuthOutput>> = {
  emqx_auth_mnesia: builtInPlugin,
  emqx_auth_username: builtInPlugin,
  emqx_auth_clientid: builtInPlugin,
  emqx_auth_mysql: (m) => sqlPlugin(m, 'mysql', 'auth.mysql'),
  emqx_auth_pgsql: (m) => sqlPlugin(m, 'postgresql', 'auth.pgsql'),
  emqx_auth_redis: redisPlugin,
  emqx_auth_mongo: mongoPlugin,
  emqx_auth_ldap: ldapPlugin,
  emqx_auth_http: httpPlugin,
  emqx_auth_jwt: jwtPlugin,
};

/** Key prefixes of each plugin (to skip the keys of a plugin that is not loaded). */
export const PLUGIN_PREFIXES: Readonly<Record<string, string[]>> = {
  emqx_auth_mnesia: ['auth.mnesia.', 'auth.user.', 'auth.client.'],
  emqx_auth_username: ['auth.user.'],
  emqx_auth_clientid: ['auth.client.'],
  emqx_auth_mysql: ['auth.mysql.'],
  emqx_auth_pgsql: ['auth.pgsql.'],
  emqx_auth_redis: ['auth.redis.'],
  emqx_auth_mongo: ['auth.mongo.'],
  emqx_auth_ldap: ['auth.ldap.'],
  emqx_auth_http: ['auth.http.'],
  emqx_auth_jwt: ['auth.jwt.'],
};
