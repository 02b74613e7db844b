/**
 * The file source: rules from acl.conf (EMQX Erlang-term syntax), or given inline as `rules` (the API
 * form). A relative path is looked up in the working directory, then in Hermod's install directory (for
 * the shipped etc/acl.conf).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { Str } from '../../../config/schema/fields.js';
import { sourceSchema } from '../../schema-parts.js';
import { compileAclFile } from '../acl-file.js';
import { firstMatch } from '../rules.js';
import { defineSource } from '../types.js';

// dist/src/access/authz/sources → the package root.
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** Where a configured acl.conf path points. */
export function resolveAclPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  const shipped = join(PACKAGE_ROOT, path);
  return existsSync(shipped) ? shipped : path;
}

const schema = sourceSchema('file', {
  path: Str('etc/acl.conf', 'The acl.conf file.'),
  rules: Type.Optional(
    Type.String({ description: 'The rules as acl.conf text (replaces path; the API form).' }),
  ),
});

/** Reads the text a file source uses. */
export function aclText(cfg: { path: string; rules?: string }): string {
  return cfg.rules ?? readFileSync(resolveAclPath(cfg.path), 'utf8');
}

/** file */
export const fileSource = defineSource({
  type: 'file',
  schema,
  create(cfg) {
    const rules = compileAclFile(aclText(cfg));
    return { authorize: (ci, action, topic) => firstMatch(rules, ci, action, topic) ?? 'nomatch' };
  },
});
