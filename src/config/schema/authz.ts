/**
 * `authorization { sources = [...], no_match, deny_action, cache {...} }` (EMQX keys). Each source is
 * checked in full against its type's schema (src/access/authz/sources/*) when it is applied.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, Int, Section } from './fields.js';

/** One source's config: the keys every type has; the rest belongs to the type. */
export const AuthzSourceConfigSchema = Type.Object(
  {
    type: Type.String({
      minLength: 1,
      description: 'file, built_in_database, mysql, postgresql, redis, mongodb or http.',
    }),
    enable: Bool(true, 'Use this source.'),
  },
  { additionalProperties: true, description: 'An authorization source (EMQX keys).' },
);

export const AuthorizationSchema = Section(
  {
    sources: Type.Array(AuthzSourceConfigSchema, {
      default: [],
      description:
        'Sources checked in order; the first that matches decides. EMQX ships [{type = file, path = "etc/acl.conf"}]; Hermod starts with none so that every client.authorize hook sees every request until you add one.',
    }),
    no_match: Enum(['allow', 'deny'], 'allow', 'Decision when no source matches.'),
    deny_action: Enum(
      ['ignore', 'disconnect'],
      'ignore',
      'On deny: answer 0x87 only, or also disconnect the client.',
    ),
    cache: Section(
      {
        enable: Bool(true, 'Cache decisions per connection.'),
        max_size: Int(32, 'Decisions kept per connection.', { minimum: 1, maximum: 1048576 }),
        ttl: Duration('1m', { description: 'How long a cached decision holds.' }),
        excludes: Type.Array(Type.String(), {
          default: [],
          description: 'Topic filters whose decisions are never cached.',
        }),
      },
      'The per-connection authorization cache.',
    ),
  },
  'Authorization: sources, default decision, deny action and cache.',
);
