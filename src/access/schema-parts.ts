/**
 * Config pieces shared by authenticators and authorization sources: the password hash algorithm and the
 * connection fields of each backend kind (EMQX key names and defaults).
 */
import { type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { resolveWith } from '../config/resolve.js';
import { Bool, Duration, Enum, Int, Str } from '../config/schema/fields.js';
import { withLegacyForms } from './compat/provider-forms.js';

const SimpleHash = Type.Object(
  {
    name: Enum(['plain', 'md5', 'sha', 'sha256', 'sha512'], 'sha256', 'Hash function.'),
    salt_position: Enum(
      ['disable', 'prefix', 'suffix'],
      'prefix',
      'Where the salt goes: before or after the password.',
    ),
  },
  // No additionalProperties: false on the variants: TypeBox merges the union's default object into the
  // value before picking a variant; the keys that do not belong are cleaned off afterwards (cleanConfig).
);
const Bcrypt = Type.Object({
  name: Type.Literal('bcrypt'),
  salt_rounds: Int(10, 'bcrypt cost for passwords Hermod hashes (5..10).', { minimum: 5, maximum: 10 }),
});
const Pbkdf2 = Type.Object({
  name: Type.Literal('pbkdf2'),
  mac_fun: Enum(['sha', 'sha224', 'sha256', 'sha384', 'sha512'], 'sha256', 'HMAC hash function.'),
  iterations: Type.Integer({ minimum: 1, description: 'PBKDF2 iteration count.' }),
  dk_length: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Derived key length in bytes (default: the MAC length).' }),
  ),
});

/** `password_hash_algorithm`: default sha256 with the salt as prefix. */
export const PasswordHashAlgorithm = Type.Union([SimpleHash, Bcrypt, Pbkdf2], {
  default: { name: 'sha256', salt_position: 'prefix' },
  description: 'How stored passwords are hashed.',
});

/**
 * A provider config with its defaults filled in, in file form, without keys a union default left behind:
 * what is validated, decoded and shown by the API.
 */
export function withDefaults(schema: TSchema, raw: unknown): Record<string, unknown> {
  return Value.Clean(schema, Value.Default(schema, structuredClone(raw))) as Record<string, unknown>;
}

/**
 * Checks a provider config: the config with defaults in file form (kept for the API) and decoded (for the
 * provider), or the list of problems as one message.
 */
export function checkConfig(
  schema: TSchema,
  raw: unknown,
): { config: Record<string, unknown>; decoded: unknown } | string {
  // EMQX 4.x forms (a one-string password_hash, an LDAP user_dn) are read as their EMQX 5 equivalents.
  const config = withDefaults(schema, withLegacyForms(raw));
  const resolved = resolveWith<unknown>(schema, config);
  if (resolved.ok) return { config, decoded: resolved.value };
  return resolved.errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ');
}

/** The keys every authenticator has, plus its own. */
export function authenticatorSchema<P extends TProperties>(
  mechanism: string,
  backend: string | undefined,
  fields: P,
) {
  return Type.Object(
    {
      mechanism: Type.Literal(mechanism),
      ...(backend === undefined ? {} : { backend: Type.Literal(backend) }),
      enable: Bool(true, 'Use this authenticator.'),
      ...fields,
    },
    { additionalProperties: false },
  );
}

/** The keys every authorization source has, plus its own. */
export function sourceSchema<P extends TProperties>(type: string, fields: P) {
  return Type.Object(
    { type: Type.Literal(type), enable: Bool(true, 'Use this source.'), ...fields },
    { additionalProperties: false },
  );
}

/** TLS options of a client connection to a backend. */
export const ClientSsl = Type.Object(
  {
    enable: Bool(false, 'Use TLS.'),
    verify: Enum(['verify_peer', 'verify_none'], 'verify_none', 'Verify the server certificate.'),
    cacertfile: Str('', 'PEM file of trusted CA certificates.'),
    certfile: Str('', 'PEM file of the client certificate.'),
    keyfile: Str('', 'PEM file of the client key.'),
    server_name_indication: Str('', 'SNI host name (default: the server host).'),
  },
  { default: {}, additionalProperties: true },
);

/** mysql / postgresql connection fields. */
export function sqlFields(defaultPort: number) {
  return {
    server: Str(`127.0.0.1:${defaultPort}`, `Database server "host[:port]" (default port ${defaultPort}).`),
    database: Type.String({ minLength: 1, description: 'Database name.' }),
    username: Str('root', 'Database user.'),
    password: Str('', 'Database password.'),
    pool_size: Int(8, 'Connections in the pool.', { minimum: 1 }),
    connect_timeout: Duration('5s', { description: 'Give up connecting after this long.', hermod: true }),
    query_timeout: Duration('5s', {
      description: 'Give up a query after this long (the client then moves on).',
    }),
    ssl: ClientSsl,
    query: Type.String({ minLength: 1, description: 'The query, with ${placeholders} bound as parameters.' }),
  };
}

/** redis connection fields. */
export const redisFields = {
  redis_type: Enum(['single', 'cluster', 'sentinel'], 'single', 'Deployment kind.'),
  server: Str('127.0.0.1:6379', 'Server "host[:port]" (single).'),
  servers: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], {
      description: 'Servers (cluster, sentinel): "h1:p1,h2:p2".',
    }),
  ),
  sentinel: Str('', 'Master name (sentinel).'),
  database: Int(0, 'Database number.', { minimum: 0 }),
  username: Str('', 'User (Redis 6 ACL).'),
  password: Str('', 'Password.'),
  pool_size: Int(8, 'Kept for compatibility (one pipelined connection is used).'),
  connect_timeout: Duration('5s', { description: 'Give up connecting after this long.', hermod: true }),
  command_timeout: Duration('5s', { description: 'Give up a command after this long.', hermod: true }),
  ssl: ClientSsl,
  cmd: Type.String({
    minLength: 1,
    description: 'The Redis command, e.g. HMGET mqtt_user:${username} password_hash salt.',
  }),
};

/** mongodb connection fields. */
export const mongoFields = {
  mongo_type: Enum(['single', 'rs', 'sharded'], 'single', 'Deployment kind.'),
  server: Str('127.0.0.1:27017', 'Server "host[:port]" (single).'),
  servers: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], { description: 'Servers (rs, sharded).' }),
  ),
  replica_set_name: Str('', 'Replica set name (rs).'),
  database: Type.String({ minLength: 1, description: 'Database name.' }),
  collection: Type.String({ minLength: 1, description: 'Collection name.' }),
  username: Str('', 'User.'),
  password: Str('', 'Password.'),
  auth_source: Str('', 'Database that holds the user (default: database).'),
  srv_record: Bool(false, 'Use a mongodb+srv:// seed list.'),
  pool_size: Int(8, 'Connections in the pool.', { minimum: 1 }),
  w_mode: Enum(['unsafe', 'safe'], 'unsafe', 'Kept for compatibility (reads only).'),
  connect_timeout: Duration('5s', { description: 'Server selection timeout.', hermod: true }),
  query_timeout: Duration('5s', { description: 'Give up a query after this long.', hermod: true }),
  ssl: ClientSsl,
  filter: Type.Record(Type.String(), Type.Unknown(), {
    default: {},
    description: 'Query filter; string values may hold ${placeholders}.',
  }),
};

/** http request fields (the request_timeout default differs between authn and authz). */
export function httpFields(requestTimeout: string) {
  return {
    method: Enum(['get', 'post'], 'post', 'HTTP method.'),
    url: Type.String({
      minLength: 1,
      description: 'URL; path and query may hold ${placeholders} (URL-encoded).',
    }),
    headers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'Request headers (accept, cache-control and keep-alive defaults are added).',
    }),
    body: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description:
        'Request body (POST, JSON or form by content-type) or query (GET); ${placeholders} in values.',
    }),
    params: Type.Optional(
      Type.String({
        description:
          'EMQX 4.x form, e.g. "clientid=%c,username=%u,password=%P": these fields are sent (query for GET, form for POST) instead of body, and the status decides: 200 allow, 4xx deny.',
      }),
    ),
    request_timeout: Duration(requestTimeout, { description: 'Give up a request after this long.' }),
    connect_timeout: Duration('15s', {
      description: 'Kept for compatibility (request_timeout bounds the whole request).',
    }),
    pool_size: Int(8, 'Kept for compatibility (connections are pooled per origin).'),
    enable_pipelining: Int(100, 'Kept for compatibility.'),
    ssl: ClientSsl,
  };
}

/** ldap connection fields. */
export const ldapFields = {
  server: Str('127.0.0.1:389', 'LDAP server "host[:port]".'),
  username: Str('', 'DN to bind as for searches ("" = anonymous).'),
  password: Str('', 'Password of that DN.'),
  base_dn: Type.String({ minLength: 1, description: 'Search base; ${placeholders} are DN-escaped.' }),
  filter: Str('(objectClass=mqttUser)', 'Search filter; ${placeholders} are filter-escaped (RFC 4515).'),
  pool_size: Int(8, 'Kept for compatibility.'),
  query_timeout: Duration('5s', { description: 'Give up an LDAP operation after this long.' }),
  request_timeout: Duration('10s', { description: 'Kept for compatibility.' }),
  ssl: ClientSsl,
};
