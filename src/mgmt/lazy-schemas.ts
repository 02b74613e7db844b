/**
 * Route schemas compiled on first use instead of at start-up. Fastify compiles every route's validators
 * (Ajv) and response serializers (fast-json-stringify) while the API starts: for Hermod's ~150 routes, Ajv
 * took 1.6 s and fast-json-stringify 0.35 s of a 5.1 s CPU profile of a node start (busy machine,
 * 2026-12-04), and the node's start ended that much later. Here each compiled function is
 * made by the compilers Fastify uses by default (its own dependencies, with the server's `ajv` options),
 * at the first request that needs it (Ajv itself is loaded by the first validated request, ~50 ms once;
 * each schema then costs that request a few ms). What a route accepts, coerces and answers is unchanged.
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
