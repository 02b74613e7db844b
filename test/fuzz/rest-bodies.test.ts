/**
 * Fuzzing the REST API's request bodies: every POST/PUT route of the node's own OpenAPI document gets random
 * JSON, objects shaped after the route's body schema with values of random types, and bytes that are not
 * JSON, as an administrator. Every answer is 2xx, or 4xx with `{code, message}`: never 5xx, never a hang.
 * After each batch the API still answers and a normal MQTT client still gets through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { mqttRoundTrip, socketParams } from './fuzz.js';

interface Route {
  method: 'POST' | 'PUT';
  /** OpenAPI path, e.g. /api/v5/users/{username}. */
  path: string;
  /** Property names of the JSON body schema, when it has some. */
  fields: string[];
  /** The JSON body schema's properties and required names. */
  properties: Record<string, PropSchema>;
  required: string[];
}

/** The part of a JSON schema the typed bodies follow. */
interface PropSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: PropSchema[];
}

/**
 * Routes whose valid bodies may legitimately lock the round-trip client out (an authenticator without its
 * user, a ban by regular expression, a stopped listener): their enumerated fields get random strings.
 */
const NO_ENUMS = /banned|authentication|authorization|listeners|configs/;

/**
 * Routes left out: logout ends the session the fuzzer works with. Everything else is fuzzed, including
 * login (before authentication) and every config and listener route.
 */
const SKIP = new Set(['POST /api/v5/logout']);

/**
 * Path parameter values. The MQTT listener 'tcp:default' is left out on purpose: a request that stops or
 * rebinds it is a legitimate order, and the round trip after each batch needs it.
 */
const paramArb = fc.oneof(
  fc.constantFrom(
    'fuzz',
    'mqttsn',
    'stomp',
    'ws:default',
    'ssl:default',
    'stomp:tcp:default',
    'password_based:built_in_database',
    'built_in_database',
    'file',
    'start',
    'stop',
    'restart',
    'true',
    'false',
    '0',
    '-1',
    '..',
    'a'.repeat(300),
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** A JSON value of any type, including the awkward ones (deep nesting, huge numbers, long strings). */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1e308,
    2 ** 53 + 1,
    true,
    [],
    {},
    'x'.repeat(70000),
    '\u0000',
    '../../etc/passwd',
    { __proto__: { admin: true } },
  ),
);

/** What one request sends: a JSON body, raw bytes under some content type, or nothing. */
type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'raw'; bytes: Uint8Array; contentType: string }
  | { kind: 'none'; contentType: string | undefined };

/** A value following `schema` (enum members, or the declared type) half of the time, anything otherwise. */
function typedArb(schema: PropSchema, enums: boolean): fc.Arbitrary<unknown> {
  const options: Array<fc.Arbitrary<unknown>> = [anyJson];
  const collect = (sc: PropSchema) => {
    if (sc.enum !== undefined && enums) options.push(fc.constantFrom(...sc.enum));
    else if (sc.type === 'string') options.push(fc.string({ unit: 'binary', maxLength: 16 }));
    else if (sc.type === 'integer') options.push(fc.integer());
    else if (sc.type === 'number') options.push(fc.double({ noNaN: true }));
    else if (sc.type === 'boolean') options.push(fc.boolean());
    else if (sc.type === 'array') options.push(fc.array(anyJson, { maxLength: 3 }));
    for (const alt of sc.anyOf ?? []) collect(alt);
  };
  collect(schema);
  return fc.oneof(...options);
}

/** An object with the required fields and some optional ones, each following its schema or not. */
function typedObjectArb(route: Route): fc.Arbitrary<Record<string, unknown>> {
  const enums = !NO_ENUMS.test(route.path);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, sc] of Object.entries(route.properties)) fields[k] = typedArb(sc, enums);
  return fc
    .record(fields, { requiredKeys: route.required.filter((k) => k in fields) })
    .map((o) => ({ ...o }));
}

/**
 * `{code, message}`; the publish routes answer a refused message as EMQX does, `{reason_code, message}`
 * (one per message for the bulk route).
 */
function isErrorBody(body: unknown, path: string): boolean {
  if (path.startsWith('/api/v5/publish')) {
    const items = Array.isArray(body) ? body : [body];
    if (
      items.length > 0 &&
      items.every((x) => typeof x?.reason_code === 'number' && typeof x?.message === 'string')
    )
      return true;
  }
  const b = body as { code?: unknown; message?: unknown } | null;
  return typeof b?.code === 'string' && typeof b?.message === 'string';
}

function bodyArb(route: Route): fc.Arbitrary<Body> {
  const shaped =
    route.fields.length === 0
      ? fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 })
      : fc.dictionary(fc.constantFrom(...route.fields), anyJson, { maxKeys: route.fields.length });
  return fc.oneof(
    { weight: 3, arbitrary: typedObjectArb(route).map((value): Body => ({ kind: 'json', value })) },
    { weight: 2, arbitrary: shaped.map((value): Body => ({ kind: 'json', value })) },
    { weight: 2, arbitrary: anyJson.map((value): Body => ({ kind: 'json', value })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc
              .constantFrom('{', '{"a":', '[1,]', '{"a":1}}', 'null', '"', '\uFEFF{}', '[['.repeat(5000))
              .map((s) => Buffer.from(s)),
          ),
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/octet-stream',
            'application/json; charset=latin1',
          ),
        )
        .map(([bytes, contentType]): Body => ({ kind: 'raw', bytes, contentType })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>(
        { kind: 'none', contentType: undefined },
        { kind: 'none', contentType: 'application/json' },
      ),
    },
  );
}

describe('fuzz: REST API bodies', () => {
  let b: TestBroker;
  let api: ApiClient;
  let routes: Route[];
  /** How many answers of each status, shown as a test diagnostic (to see the fuzz reach past validation). */
  const statuses = new Map<number, number>();

  before(async () => {
    b = await startBroker({
      api: true,
      config: { gateway: { stomp: { listeners: { tcp: { default: { bind: '127.0.0.1:0' } } } } } },
    });
    api = await adminClient(b);
    const doc = await api.req('GET', '/api-docs/swagger.json');
    assert.equal(doc.status, 200);
    routes = [];
    for (const [path, ops] of Object.entries(
      doc.body.paths as Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content?: Record<
                string,
                { schema?: { properties?: Record<string, PropSchema>; required?: string[] } }
              >;
            };
          }
        >
      >,
    )) {
      for (const [m, op] of Object.entries(ops)) {
        const method = m.toUpperCase();
        if ((method !== 'POST' && method !== 'PUT') || SKIP.has(`${method} ${path}`)) continue;
        const schema = op.requestBody?.content?.['application/json']?.schema;
        const properties = schema?.properties ?? {};
        routes.push({
          method: method as Route['method'],
          path,
          fields: Object.keys(properties),
          properties,
          required: schema?.required ?? [],
        });
      }
    }
    assert.ok(routes.length > 40, `only ${routes.length} POST/PUT routes in the OpenAPI document`);
  });
  after(() => b.stop());

  /** Sends one request; checks the answer is 2xx or 4xx with {code, message}, within a bound. */
  async function call(route: Route, params: string[], body: Body): Promise<void> {
    let i = 0;
    const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++ % params.length]!));
    const headers: Record<string, string> = {};
    if (route.path !== '/api/v5/login' && api.auth !== undefined) headers.authorization = api.auth;
    let payload: string | ArrayBuffer | undefined;
    if (body.kind === 'json') {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.value) ?? 'null';
    } else if (body.kind === 'raw') {
      headers['content-type'] = body.contentType;
      payload = new Uint8Array(body.bytes).buffer;
    } else if (body.contentType !== undefined) headers['content-type'] = body.contentType;
    const what = `${route.method} ${path} ${body.kind === 'json' ? JSON.stringify(body.value)?.slice(0, 200) : body.kind}`;
    let res: Response;
    try {
      res = await fetch(api.base + path, {
        method: route.method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      assert.fail(`${what}: no answer (${(err as Error).message})`);
    }
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${what} → ${res.status} ${text.slice(0, 300)}`);
    assert.ok(res.status >= 200 && res.status !== 304, `${what} → ${res.status}`);
    if (res.status >= 400) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        assert.fail(`${what} → ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
      assert.ok(isErrorBody(parsed, route.path), `${what} → ${res.status} ${text.slice(0, 200)}`);
    }
  }

  it('random bodies on every POST/PUT route: 2xx or 4xx with {code, message}; the node keeps serving', async (t) => {
    let batch = 0;
    const requestArb = fc.nat().chain((n) => {
      const route = routes[n % routes.length]!;
      return fc.tuple(fc.constant(route), fc.array(paramArb, { minLength: 1, maxLength: 3 }), bodyArb(route));
    });
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: 30, maxLength: 30 }), async (requests) => {
        for (const [route, params, body] of requests) await call(route, params, body);
        const status = await api.get('/nodes');
        assert.equal(status.status, 200, status.text);
        await mqttRoundTrip(b.port, `rest-${batch++}`);
      }),
      socketParams(5),
    );
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
  });

  it('every POST/PUT route once with a body that is not JSON and once with a wrongly typed object', async () => {
    for (const route of routes) {
      await call(route, ['fuzz'], {
        kind: 'raw',
        bytes: Buffer.from('{"unterminated": '),
        contentType: 'application/json',
      });
      const wrong = Object.fromEntries(route.fields.map((f) => [f, { nested: [f] }]));
      await call(route, ['fuzz'], { kind: 'json', value: wrong });
    }
    await mqttRoundTrip(b.port, 'rest-each');
  });
});
