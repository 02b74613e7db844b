/**
 * Route schemas compiled on first use instead of at start-up. Fastify compiles every route's validator (Ajv)
 * and response serializer (fast-json-stringify) while the API starts: with ~300 routes that was 1.6 s of
 * Ajv and 0.35 s of fast-json-stringify, ~80 % of the management plane's start (CPU profile of a node start,
 * 2026-12-04), and it delayed the end of the node's start by as much. Here each compiled function is made
 * by the same compilers Fastify uses by default (its own dependencies, with the server's `ajv` options),
 * only at the first request that needs it (a few ms for that request); what it accepts, coerces and answers does not change.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

/** What Fastify passes to a validator or serializer compiler for one part of one route. */
interface RouteSchema {
  schema: unknown;
  method?: string;
  url?: string;
  httpPart?: string;
  httpStatus?: string;
  contentType?: string;
}

/** An Ajv validate function as Fastify calls it: `errors` after a failure, `schemaEnv` when it is Ajv's. */
interface Validator {
  (data: unknown, dataCtx?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

type Serializer = (payload: unknown) => string;
type Builder<F> = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => F;
type CompilersFactory = NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'];

// Fastify's default compilers, resolved from Fastify's own location so they are the versions it depends on.
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));

/** A validator that compiles `build()` the first time Fastify looks at it or calls it. */
function lazyValidator(build: () => Validator): Validator {
  let compiled: Validator | undefined;
  const get = (): Validator => {
    compiled ??= build();
    return compiled;
  };
  const validate: Validator = (data, dataCtx) => {
    const fn = get();
    const ok = fn(data, dataCtx);
    validate.errors = fn.errors;
    return ok;
  };
  // Fastify reads `schemaEnv` before the call to decide whether Ajv may replace the root value (coercion).
  Object.defineProperty(validate, 'schemaEnv', { get: () => get().schemaEnv });
  return validate;
}

/** A serializer that compiles `build()` at its first response. */
function lazySerializer(build: () => Serializer): Serializer {
  let compiled: Serializer | undefined;
  return (payload) => {
    compiled ??= build();
    return compiled(payload);
  };
}

/**
 * Fastify's `schemaController.compilersFactory` with both compilers deferred to first use: Ajv and
 * fast-json-stringify are not even loaded until a request needs one of them.
 */
export function lazyCompilers(): CompilersFactory {
  // One selector each, as Fastify has: its pool gives every scope with the same options the same Ajv.
  let validators: Builder<Validator> | undefined;
  let serializers: Builder<Serializer> | undefined;
  return {
    buildValidator: (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: RouteSchema) => Validator) | undefined;
      return (route: RouteSchema) =>
        lazyValidator(() => {
          validators ??= (fromFastify('@fastify/ajv-compiler') as () => Builder<Validator>)();
          compile ??= validators(externalSchemas, options);
          return compile(route);
        });
    },
    buildSerializer: (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: RouteSchema) => Serializer) | undefined;
      return (route: RouteSchema) =>
        lazySerializer(() => {
          serializers ??= (
            fromFastify('@fastify/fast-json-stringify-compiler') as () => Builder<Serializer>
          )();
          compile ??= serializers(externalSchemas, options);
          return compile(route);
        });
    },
  } as CompilersFactory;
}
