/**
 * password_based:ldap. `hash`: find the user's entry and check the password against its password
 * attribute ({SHA}, {SSHA}, {SHA256}, {SSHA512}, {MD5}, … or plain text). `bind`: find the entry, then bind
 * as its DN with the client's password and let the directory decide.
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Entry } from 'ldapts';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Str } from '../../../config/schema/fields.js';
import { isSuperuser } from '../../coerce.js';
import { safeEqual } from '../../password-hash.js';
import { escapeDnValue, escapeFilterValue } from '../../resources/ldap-escape.js';
import { authenticatorSchema, ldapFields } from '../../schema-parts.js';
import { credentialLookup, type Lookup, Template } from '../../template.js';
import { precheck } from '../password-check.js';
import { type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';

const Method = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('hash'),
        password_attribute: Str('userPassword', 'Attribute holding the password.'),
        is_superuser_attribute: Str('isSuperuser', 'Attribute holding the superuser flag.'),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('bind'),
        bind_password: Str('${password}', 'Password to bind with (template).'),
        is_superuser_attribute: Str('isSuperuser', 'Attribute holding the superuser flag.'),
      },
      { additionalProperties: false },
    ),
  ],
  {
    default: { type: 'hash' },
    description: 'hash: compare with the stored password; bind: bind as the user.',
  },
);

const schema = authenticatorSchema('password_based', 'ldap', { ...ldapFields, method: Method });

const DIGESTS: Record<string, string> = {
  MD5: 'md5',
  SHA: 'sha1',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};

/** Checks a password against one userPassword value (RFC 2307 style schemes, or plain text). */
export function checkLdapPassword(password: Buffer, stored: string): boolean {
  const m = /^\{([A-Za-z0-9]+)\}(.*)$/s.exec(stored);
  if (m === null) return safeEqual(password, Buffer.from(stored));
  const scheme = m[1]!.toUpperCase();
  const salted = scheme.startsWith('S') && DIGESTS[scheme.slice(1)] !== undefined;
  const digest = DIGESTS[salted ? scheme.slice(1) : scheme];
  if (digest === undefined) return false;
  const raw = Buffer.from(m[2]!, 'base64');
  const len = createHash(digest).digest().length;
  if (raw.length < len || (!salted && raw.length !== len)) return false;
  const salt = raw.subarray(len);
  const computed = createHash(digest).update(password).update(salt).digest();
  return safeEqual(computed, raw.subarray(0, len));
}

function values(entry: Entry, attr: string): string[] {
  // Attribute names are case-insensitive in LDAP; ldapts keeps the server's spelling.
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** password_based:ldap */
export const ldapProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'ldap',
  schema,
  secrets: ['password'],
  async create(cfg) {
    const { LdapClient } = await import('../../resources/ldap.js');
    const client = new LdapClient(cfg);
    const filter = new Template(cfg.filter);
    const baseDn = new Template(cfg.base_dn);
    const method = cfg.method;
    const bindPassword = method.type === 'bind' ? new Template(method.bind_password) : undefined;
    const attrs =
      method.type === 'hash'
        ? [method.password_attribute, method.is_superuser_attribute]
        : [method.is_superuser_attribute];
    const find = (lookup: Lookup) =>
      client.findOne(
        baseDn.render(lookup, escapeDnValue) ?? '',
        filter.render(lookup, escapeFilterValue) ?? '',
        attrs,
      );
    return {
      async authenticate(c: Credential): Promise<AuthnResult> {
        const pre = precheck(c);
        if (pre !== undefined) return pre;
        const lookup = credentialLookup(c);
        const entry = await find(lookup);
        if (entry === undefined) return IGNORE;
        if (c.password === undefined) return deny('no password given');
        const superuser = isSuperuser(values(entry, method.is_superuser_attribute)[0]);
        if (method.type === 'hash') {
          const stored = values(entry, method.password_attribute);
          if (stored.length === 0) return deny('the entry has no password attribute');
          const pw = c.password ?? Buffer.alloc(0);
          return stored.some((s) => checkLdapPassword(pw, s))
            ? { kind: 'ok', is_superuser: superuser }
            : deny('bad password');
        }
        const ok = await client.verifyBind(entry.dn, bindPassword!.text(lookup));
        return ok ? { kind: 'ok', is_superuser: superuser } : deny('the directory refused the bind');
      },
      status: () => client.status(),
      destroy: () => client.close(),
    };
  },
});
