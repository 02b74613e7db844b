/**
 * `authentication = [ {mechanism, backend, enable, …}, … ]`: the global MQTT authentication chain, in
 * order (a listener's own `authentication` replaces it for that listener). Each entry is checked in full
 * against its provider's schema (src/access/authn/backends/*) when it is applied, since plugins may add
 * mechanisms this root schema cannot list.
 */
import { Type } from '@sinclair/typebox';
import { Bool } from './fields.js';

/** One authenticator's config: the keys every mechanism has; the rest belongs to the mechanism. */
export const AuthenticatorConfigSchema = Type.Object(
  {
    mechanism: Type.String({
      minLength: 1,
      description: 'password_based, jwt or scram (or a plugin mechanism).',
    }),
    backend: Type.Optional(
      Type.String({
        description:
          'built_in_database, mysql, postgresql, redis, mongodb, http or ldap (password_based); built_in_database (scram).',
      }),
    ),
    enable: Bool(true, 'Use this authenticator.'),
  },
  { additionalProperties: true, description: 'An authenticator (EMQX keys; see docs/access-control).' },
);

/** The ordered authenticator list of a chain. */
export function AuthenticationList(description: string) {
  return Type.Array(AuthenticatorConfigSchema, { default: [], description });
}

export const AuthenticationSchema = AuthenticationList(
  'The global MQTT authentication chain (mqtt:global), in order. Empty: every client is let in.',
);
