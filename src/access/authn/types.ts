/**
 * The contracts of authentication: a provider (one per `mechanism:backend`) validates its config and
 * creates authenticators; an authenticator answers for one credential. Plugins register providers the same
 * way the built-in ones are registered.
 */
import type { StaticDecode, TSchema } from '@sinclair/typebox';
import type { AuthnResult, Credential } from '../../broker/types.js';
import type { Db } from '../../store/db.js';

/** Health of an authenticator's backend, as the status API reports it. */
export type ResourceStatus = 'connected' | 'disconnected' | 'connecting';

/** What a provider gets besides its config when creating an authenticator. */
export interface AuthnEnv {
  /** The node's embedded store (users of built-in databases live there). */
  readonly db: Db;
  /** Chain name, e.g. 'mqtt:global', 'tcp:default', 'stomp:global'. */
  readonly chain: string;
  /** Authenticator id, e.g. 'password_based:built_in_database'. */
  readonly id: string;
  /** Key of this authenticator's stored data ('<chain>/<id>'): survives config updates, not deletion. */
  readonly userGroup: string;
}

/** One configured authenticator. */
export interface Authenticator {
  /**
   * Answers for a credential: ignore (not mine, next please), ok, error, or continue (enhanced auth).
   * Throwing or rejecting counts as ignore; the chain logs it.
   */
  authenticate(credential: Credential): AuthnResult | Promise<AuthnResult>;
  /** Health of its backend; 'connected' when it has none. */
  status?(): ResourceStatus | Promise<ResourceStatus>;
  /** The user database behind built_in_database-style authenticators (for the users API). */
  readonly users?: UserStore;
  /** Closes connections and timers. */
  destroy?(): void | Promise<void>;
}

/** A mechanism/backend implementation, registered by id ('password_based:mysql', 'jwt', …). */
export interface AuthnProvider {
  readonly mechanism: string;
  readonly backend: string | undefined;
  /** Config schema (TypeBox, with defaults); validated before create(). */
  readonly schema: TSchema;
  /** Top-level config keys the API shows as "******" (and keeps when "******" comes back). */
  readonly secrets: readonly string[];
  /** Builds an authenticator from a decoded config. Throw for a config that cannot work. */
  create(config: unknown, env: AuthnEnv): Authenticator | Promise<Authenticator>;
  /** Removes stored data (users) when the authenticator is deleted from its chain. */
  dropData?(env: AuthnEnv): void;
}

/** Declares a provider with its config type inferred from the schema. */
export function defineProvider<S extends TSchema>(p: {
  mechanism: string;
  backend?: string;
  schema: S;
  secrets?: readonly string[];
  create(config: StaticDecode<S>, env: AuthnEnv): Authenticator | Promise<Authenticator>;
  dropData?(env: AuthnEnv): void;
}): AuthnProvider {
  return {
    mechanism: p.mechanism,
    backend: p.backend,
    schema: p.schema,
    secrets: p.secrets ?? [],
    create: (config, env) => p.create(config as StaticDecode<S>, env),
    dropData: p.dropData,
  };
}

/** The id EMQX gives an authenticator: `mechanism:backend`, or the mechanism alone. */
export function authenticatorId(mechanism: string, backend: string | undefined): string {
  return backend === undefined || backend === '' ? mechanism : `${mechanism}:${backend}`;
}

/** A user as the users API lists it. */
export interface UserInfo {
  user_id: string;
  is_superuser: boolean;
}

/** One record of a user import. */
export interface ImportRecord {
  user_id?: unknown;
  password?: unknown;
  password_hash?: unknown;
  salt?: unknown;
  is_superuser?: unknown;
}

/** Result of an import, as EMQX reports it. */
export interface ImportSummary {
  total: number;
  success: number;
  override: number;
  skipped: number;
  failed: number;
}

/** The user database of a built-in authenticator. */
export interface UserStore {
  list(filter: { like_user_id?: string; is_superuser?: boolean }): UserInfo[];
  get(userId: string): UserInfo | undefined;
  /** Adds a user; AuthnError ALREADY_EXISTS when present. */
  add(user: { user_id: string; password: string; is_superuser?: boolean }): Promise<UserInfo>;
  /** Changes a user; AuthnError NOT_FOUND when absent. */
  update(userId: string, change: { password?: string; is_superuser?: boolean }): Promise<UserInfo>;
  delete(userId: string): boolean;
  /** Imports users: `hash` records carry password_hash/salt, `plain` ones a password to hash. */
  import(type: 'hash' | 'plain', records: ImportRecord[]): Promise<ImportSummary>;
}

/** An error with an API code (ALREADY_EXISTS, NOT_FOUND, BAD_REQUEST). */
export class AuthnError extends Error {
  constructor(
    readonly code: 'ALREADY_EXISTS' | 'NOT_FOUND' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
    this.name = 'AuthnError';
  }
}

/** Result helpers, so backends read like EMQX's clauses. */
export const IGNORE: AuthnResult = { kind: 'ignore' };

/** A refusal with the MQTT-visible reason and a text for logs and reason strings. */
export function deny(
  message: string,
  reason: 'bad_username_or_password' | 'not_authorized' = 'bad_username_or_password',
): AuthnResult {
  return { kind: 'error', reason, message };
}
