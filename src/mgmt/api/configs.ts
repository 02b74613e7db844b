/**
 * `/configs`: every root key's config in file form, one root key GET/PUT. Changes go through ConfigService,
 * which validates them against the whole schema, has the owning component apply them and persists them.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RootSchema } from '../../config/schema/index.js';
import { ConfigUpdateError, type RootKey } from '../../config/service.js';
import { ApiError, ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

/** Root keys that cannot change while the node runs. */
const READ_ONLY = new Set<string>(['node']);

function schemaOf(key: string): TSchema | undefined {
  return (RootSchema.properties as Record<string, TSchema>)[key];
}

/** A root key's live config in file form (durations "30s", sizes "1MB"), defaults included. */
export function encodedSection(ctx: MgmtPlane, key: RootKey): unknown {
  const schema = schemaOf(key);
  if (schema === undefined) throw notFound(`Config not found: ${key}`);
  return Value.Encode(schema, ctx.node.config[key]);
}

/** Replaces a root key (file form); 400 UPDATE_FAILED naming every bad key. Returns the new value. */
export async function updateSection(ctx: MgmtPlane, key: RootKey, body: unknown): Promise<unknown> {
  if (schemaOf(key) === undefined) throw notFound(`Config not found: ${key}`);
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
  app.get('/configs', { schema: { tags, summary: 'The whole config (file form)' } }, async () => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(RootSchema.properties)) out[key] = encodedSection(ctx, key as RootKey);
    return out;
  });
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
