/**
 * `/configs`: every root key's config in file form, one root key GET/PUT. Changes go through ConfigService,
 * which validates them against the whole schema, has the owning component apply them and persists them.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { emqxEdition, emqxRootWithDefaults } from '../../config/compat/emqx-keys.js';
import { type Json, printHocon } from '../../config/hocon/index.js';
import { RootSchema } from '../../config/schema/index.js';
import { ConfigUpdateError, type RootKey } from '../../config/service.js';
import { ApiError, ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

/** Root keys that cannot change while the node runs (EMQX's read-only roots among them). */
export const READ_ONLY = new Set<string>(['node', 'cluster', 'rpc']);

function schemaOf(key: string): TSchema | undefined {
  return (RootSchema.properties as Record<string, TSchema>)[key];
}

/** An EMQX root key Hermod accepts without implementing it (kept as written, shown as written). */
export function isEmqxOnlyRoot(key: string): boolean {
  return schemaOf(key) === undefined && emqxEdition([key]) !== undefined;
}

/**
 * A root key's live config in file form (durations "30s", sizes "1MB"), defaults included; an EMQX root
 * Hermod does not implement shows EMQX's defaults with what was written for it.
 */
export function encodedSection(ctx: MgmtPlane, key: RootKey): unknown {
  const schema = schemaOf(key);
  if (schema === undefined) {
    if (isEmqxOnlyRoot(key)) return emqxRootWithDefaults(key, ctx.node.configService.getAllRaw()[key]);
    throw notFound(`Config not found: ${key}`);
  }
  return Value.Encode(schema, ctx.node.config[key]);
}

/** The whole config in file form: every Hermod root key, then the EMQX-only roots that were written. */
export function wholeConfig(ctx: MgmtPlane): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const key of Object.keys(RootSchema.properties))
    out[key] = encodedSection(ctx, key as RootKey) as Json;
  for (const [key, value] of Object.entries(ctx.node.configService.getAllRaw())) {
    if (isEmqxOnlyRoot(key)) out[key] = emqxRootWithDefaults(key, value);
  }
  return out;
}

/** Replaces a root key (file form); 400 UPDATE_FAILED naming every bad key. Returns the new value. */
export async function updateSection(ctx: MgmtPlane, key: RootKey, body: unknown): Promise<unknown> {
  if (schemaOf(key) === undefined && !isEmqxOnlyRoot(key)) throw notFound(`Config not found: ${key}`);
  if (READ_ONLY.has(key)) throw new ApiError(400, 'UPDATE_FAILED', `${key} cannot be changed at runtime`);
  try {
    await ctx.node.configService.update(key, body);
  } catch (err) {
    if (err instanceof ConfigUpdateError) {
      const msg = err.errors
        .map((e) => `${e.path}: ${e.message} (got ${JSON.stringify(e.value)})`)
        .join('; ');
      throw new ApiError(400, 'UPDATE_FAILED', msg);
    }
    throw new ApiError(400, 'UPDATE_FAILED', (err as Error).message);
  }
  return encodedSection(ctx, key);
}

export function configsArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Configs'];
  const RootParam = Type.Object({ rootkey: Type.String() });
  app.get(
    '/configs',
    {
      schema: {
        tags,
        summary: 'The whole config (or one root key): HOCON text, or JSON with Accept: application/json',
        querystring: Type.Object({ key: Type.Optional(Type.String()), node: Type.Optional(Type.String()) }),
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { key, node } = req.query;
      if (node !== undefined && node !== ctx.node.name) throw notFound(`Bad node ${node}, reason not found`);
      const whole = wholeConfig(ctx);
      if (key !== undefined && !(key in whole)) throw notFound(`Config not found: ${key}`);
      const conf = key === undefined ? whole : { [key]: whole[key]! };
      // As EMQX: HOCON unless the client only accepts JSON.
      const type = acceptedType(req.headers.accept);
      if (type === undefined)
        throw new ApiError(400, 'INVALID_ACCEPT', 'accepts text/plain (HOCON) or application/json');
      if (type === 'json') return conf;
      return reply.type('text/plain; charset=utf-8').send(printHocon(conf));
    },
  );
  app.get(
    '/configs/:rootkey',
    { schema: { tags, summary: 'One root key', params: RootParam, response: { 404: ErrorBody } } },
    async (req) => encodedSection(ctx, req.params.rootkey as RootKey),
  );
  app.put(
    '/configs/:rootkey',
    {
      schema: {
        tags,
        summary: 'Replace one root key (validated, applied live and persisted)',
        params: RootParam,
        body: Type.Object({}, { additionalProperties: true }),
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => updateSection(ctx, req.params.rootkey as RootKey, req.body),
  );
  app.post(
    '/configs/reload',
    { schema: { tags, summary: 'Re-read the config files (hermod ctl conf reload)' } },
    async () => {
      if (ctx.reloadConfig === undefined)
        throw new ApiError(
          400,
          'NOT_SUPPORTED',
          'this node was not started from config files (hermod start)',
        );
      try {
        return await ctx.reloadConfig();
      } catch (err) {
        if (err instanceof ConfigUpdateError) {
          throw new ApiError(
            400,
            'UPDATE_FAILED',
            err.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
          );
        }
        throw new ApiError(400, 'UPDATE_FAILED', (err as Error).message);
      }
    },
  );
}

/** "hocon" for text/plain or anything (*\/*, no header), "json" when only JSON is accepted, else undefined. */
export function acceptedType(accept: string | undefined): 'hocon' | 'json' | undefined {
  if (accept === undefined || accept.trim() === '') return 'hocon';
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  if (types.includes('*/*') || types.includes('text/plain') || types.includes('text/*')) return 'hocon';
  if (types.includes('application/json') || types.includes('application/*')) return 'json';
  return undefined;
}
