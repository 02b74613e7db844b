/**
 * EMQX's whole-config endpoints: `PUT /configs` (a HOCON document, merged or replacing root keys),
 * `POST /configs_reset/{rootname}`, `GET|PUT /configs/global_zone`, and Hermod's `GET /configs_unsupported`
 * (the EMQX keys accepted without effect, what `hermod ctl conf show --unsupported` prints).
 */
import { Type } from '@sinclair/typebox';
import { canonicalForms } from '../../config/compat/emqx-forms.js';
import { describeUnsupported, splitEmqxKeys } from '../../config/compat/emqx-keys.js';
import { type Json, mergeJson, parseHocon } from '../../config/hocon/index.js';
import { resolveConfig } from '../../config/resolve.js';
import { RootSchema } from '../../config/schema/index.js';
import type { RootKey } from '../../config/service.js';
import { ApiError, ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import { encodedSection, isEmqxOnlyRoot, READ_ONLY, updateSection } from './configs.js';

/** The roots EMQX's global zone covers: settings a zone may override, shown and changed together. */
const GLOBAL_ZONE_ROOTS = [
  'mqtt',
  'stats',
  'flapping_detect',
  'force_shutdown',
  'conn_congestion',
  'force_gc',
  'durable_sessions',
];

type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isRoot(key: string): boolean {
  return Object.hasOwn(RootSchema.properties, key) || isEmqxOnlyRoot(key);
}

/** The body of a whole-config PUT: HOCON text (EMQX sends text/plain) or the same as JSON. */
function documentOf(body: unknown): JsonObject {
  if (isObject(body)) return body;
  if (typeof body !== 'string') throw new ApiError(400, 'UPDATE_FAILED', 'expected a HOCON document');
  const parsed = parseHocon(body, { file: 'request body' });
  if (!parsed.ok) {
    const msg = parsed.errors.map((e) => `line ${e.line}:${e.col}: ${e.message}`).join('; ');
    throw new ApiError(400, 'UPDATE_FAILED', msg);
  }
  return parsed.value;
}

export function configsEmqxArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Configs'];
  const service = ctx.node.configService;

  app.put(
    '/configs',
    {
      schema: {
        tags,
        summary: 'Load a HOCON document: each root key in it is merged into (or replaces) the running one',
        querystring: Type.Object({
          mode: Type.Union([Type.Literal('merge'), Type.Literal('replace')], { default: 'merge' }),
          ignore_readonly: Type.Boolean({ default: false }),
        }),
        response: { 200: Type.Null(), 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const doc = documentOf(req.body);
      const raw = service.getAllRaw() as JsonObject;
      const changes: Array<[string, Json]> = [];
      for (const [key, value] of Object.entries(doc)) {
        if (!isRoot(key)) throw new ApiError(400, 'UPDATE_FAILED', `${key}: unknown root key`);
        const next = req.query.mode === 'merge' && key in raw ? mergeJson(raw[key]!, value) : value;
        if (JSON.stringify(next) === JSON.stringify(raw[key])) continue;
        if (READ_ONLY.has(key)) {
          // A document read back from GET /configs repeats the read-only roots (defaults filled in) unchanged;
          // only a real change is refused.
          const current = encodedSection(ctx, key as RootKey) as Json;
          if (JSON.stringify(mergeJson(current, value)) === JSON.stringify(current)) continue;
          if (req.query.ignore_readonly) continue;
          throw new ApiError(400, 'UPDATE_FAILED', `${key} is read-only: it cannot be changed at runtime`);
        }
        changes.push([key, next]);
      }
      // All or nothing: the whole result is validated before any root key is applied.
      const whole = { ...raw, ...Object.fromEntries(changes) };
      const resolved = resolveConfig(whole);
      if (!resolved.ok) {
        const msg = resolved.errors.map((e) => `${e.path}: ${e.message} (got ${JSON.stringify(e.value)})`);
        throw new ApiError(400, 'UPDATE_FAILED', msg.join('; '));
      }
      for (const [key, value] of changes) await updateSection(ctx, key as RootKey, value);
      return reply.code(200).send();
    },
  );

  app.post(
    '/configs_reset/:rootname',
    {
      schema: {
        tags,
        summary: 'Reset a root key (or one key below it, conf_path) to its default',
        params: Type.Object({ rootname: Type.String() }),
        querystring: Type.Object({ conf_path: Type.Optional(Type.String()) }),
        response: { 200: Type.Null(), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const root = req.params.rootname;
      if (!isRoot(root)) throw notFound(`Config not found: ${root}`);
      if (READ_ONLY.has(root)) throw new ApiError(400, 'REST_FAILED', `${root} is read-only`);
      const path = (req.query.conf_path ?? '').split('.').filter((s) => s !== '');
      let next: Json = {};
      if (path.length > 0) {
        // Removing the key lets its default apply; the rest of the root key stays as it is.
        next = structuredClone((service.getAllRaw()[root] ?? {}) as Json);
        let obj: Json = next;
        for (const seg of path.slice(0, -1)) obj = isObject(obj) ? (obj[seg] ?? {}) : {};
        if (!isObject(obj) || !(path[path.length - 1]! in obj))
          throw new ApiError(400, 'NO_DEFAULT_VALUE', `${root}.${path.join('.')} is not set`);
        delete obj[path[path.length - 1]!];
      }
      try {
        await updateSection(ctx, root as RootKey, next);
      } catch (err) {
        if (err instanceof ApiError) throw new ApiError(400, 'REST_FAILED', err.message);
        throw err;
      }
      return reply.code(200).send();
    },
  );

  app.get('/configs/global_zone', { schema: { tags, summary: 'The global zone settings' } }, async () => {
    const out: Record<string, unknown> = {};
    for (const key of GLOBAL_ZONE_ROOTS) if (isRoot(key)) out[key] = encodedSection(ctx, key as RootKey);
    return out;
  });

  app.put(
    '/configs/global_zone',
    {
      schema: {
        tags,
        summary: 'Change global zone settings (each root key given replaces the running one)',
        body: Type.Object({}, { additionalProperties: true }),
        response: { 400: ErrorBody },
      },
    },
    async (req) => {
      const body = req.body as Record<string, unknown>;
      const unknown = Object.keys(body).filter((k) => !GLOBAL_ZONE_ROOTS.includes(k));
      if (unknown.length > 0)
        throw new ApiError(400, 'UPDATE_FAILED', `not global zone settings: ${unknown.join(', ')}`);
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(body)) {
        const prev = encodedSection(ctx, key as RootKey);
        out[key] =
          JSON.stringify(prev) === JSON.stringify(value)
            ? prev
            : await updateSection(ctx, key as RootKey, value);
      }
      return out;
    },
  );

  app.get(
    '/configs_unsupported',
    { schema: { tags, summary: 'EMQX keys accepted for compatibility that have no effect in Hermod' } },
    async () =>
      splitEmqxKeys(canonicalForms(service.getAllRaw())).unsupported.map((k) => ({
        path: k.path,
        edition: k.edition,
        value: k.value,
        message: describeUnsupported(k),
      })),
  );
}
