/**
 * The contracts of authorization: a source provider (one per type: file, built_in_database, mysql, …)
 * validates its config and creates a source; a source answers allow, deny or nomatch for one request.
 */
import type { StaticDecode, TSchema } from '@sinclair/typebox';
import type { AuthzAction, ClientInfo } from '../../broker/types.js';
import type { Db } from '../../store/db.js';
import type { ResourceStatus } from '../authn/types.js';
import type { BuiltInRules } from './built-in-rules.js';

/** A source's answer: a matched rule's permission, or nomatch (the next source decides). */
export type AuthzAnswer = 'allow' | 'deny' | 'nomatch';

/** What a provider gets besides its config. */
export interface AuthzEnv {
  readonly db: Db;
  /** The rules of the built-in database (managed through the API). */
  readonly builtInRules: BuiltInRules;
}

/** One configured source. */
export interface AuthzSource {
  /** Throwing or rejecting counts as nomatch (logged). */
  authorize(ci: ClientInfo, action: AuthzAction, topic: string): AuthzAnswer | Promise<AuthzAnswer>;
  status?(): ResourceStatus | Promise<ResourceStatus>;
  destroy?(): void | Promise<void>;
}

/** A source type implementation. */
export interface AuthzSourceProvider {
  readonly type: string;
  readonly schema: TSchema;
  /** Top-level config keys the API masks. */
  readonly secrets: readonly string[];
  create(config: unknown, env: AuthzEnv): AuthzSource | Promise<AuthzSource>;
}

/** Declares a source provider with its config type inferred from the schema. */
export function defineSource<S extends TSchema>(p: {
  type: string;
  schema: S;
  secrets?: readonly string[];
  create(config: StaticDecode<S>, env: AuthzEnv): AuthzSource | Promise<AuthzSource>;
}): AuthzSourceProvider {
  return {
    type: p.type,
    schema: p.schema,
    secrets: p.secrets ?? [],
    create: (config, env) => p.create(config as StaticDecode<S>, env),
  };
}
