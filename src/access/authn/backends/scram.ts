/**
 * scram:built_in_database: SCRAM-SHA-256 / SCRAM-SHA-512 over MQTT 5 enhanced authentication. CONNECT
 * carries client-first, the server answers server-first in AUTH 0x18, the client's AUTH carries
 * client-final, and CONNACK carries server-final (v=…) when the proof holds.
 */
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Enum, Int } from '../../../config/schema/fields.js';
import { authenticatorSchema } from '../../schema-parts.js';
import { UserTable } from '../builtin/user-table.js';
import { attributes, parseClientFirst, type ScramHash, serverNonce, verifyProof } from '../scram/crypto.js';
import { ScramUsers } from '../scram/users.js';
import { type AuthnEnv, type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';

const schema = authenticatorSchema('scram', 'built_in_database', {
  algorithm: Enum(
    ['sha256', 'sha512'],
    'sha256',
    'Hash of the SCRAM method (SCRAM-SHA-256 or SCRAM-SHA-512).',
  ),
  iteration_count: Int(4096, 'PBKDF2 iterations for new passwords.', { minimum: 1 }),
});

/** Kept between the two rounds (typed, so another authenticator's state is never mistaken for ours). */
class ScramState {
  constructor(
    readonly userId: string,
    readonly gs2: string,
    readonly nonce: string,
    readonly authPrefix: string,
  ) {}
}

const table = (env: AuthnEnv) =>
  new UserTable(env.db, 'authn_scram_users', env.userGroup, [
    'stored_key',
    'server_key',
    'salt',
    'iterations',
  ]);

/** scram:built_in_database */
export const scramProvider: AuthnProvider = defineProvider({
  mechanism: 'scram',
  backend: 'built_in_database',
  schema,
  create(cfg, env) {
    const hash = cfg.algorithm as ScramHash;
    const method = `SCRAM-${hash === 'sha256' ? 'SHA-256' : 'SHA-512'}`;
    const users = new ScramUsers(table(env), hash, cfg.iteration_count);

    const first = (data: string): AuthnResult => {
      const m = parseClientFirst(data);
      if (typeof m === 'string') return deny(`scram: ${m}`, 'not_authorized');
      const keys = users.keys(m.user);
      if (keys === undefined) return deny('scram: unknown user', 'not_authorized');
      const nonce = m.nonce + serverNonce();
      const serverFirst = `r=${nonce},s=${keys.salt},i=${keys.iterations}`;
      return {
        kind: 'continue',
        auth_data: Buffer.from(serverFirst),
        state: new ScramState(m.user, m.gs2, nonce, `${m.bare},${serverFirst},`),
      };
    };

    const final = (s: ScramState, data: string): AuthnResult => {
      const i = data.lastIndexOf(',p=');
      if (i < 0) return deny('scram: client-final message lacks a proof', 'not_authorized');
      const withoutProof = data.slice(0, i);
      const a = attributes(withoutProof);
      if (a.get('r') !== s.nonce) return deny('scram: nonce mismatch', 'not_authorized');
      if (a.get('c') !== Buffer.from(s.gs2).toString('base64'))
        return deny('scram: channel binding mismatch', 'not_authorized');
      const keys = users.keys(s.userId);
      if (keys === undefined) return deny('scram: unknown user', 'not_authorized');
      const sig = verifyProof(hash, keys, s.authPrefix + withoutProof, data.slice(i + 3));
      if (sig === undefined) return deny('scram: bad proof', 'not_authorized');
      return { kind: 'ok', is_superuser: keys.is_superuser, auth_data: Buffer.from(`v=${sig}`) };
    };

    return {
      users,
      authenticate(c: Credential): AuthnResult {
        if (c.auth_method !== method) return IGNORE;
        const data = c.auth_data?.toString('utf8') ?? '';
        return c.auth_state instanceof ScramState ? final(c.auth_state, data) : first(data);
      },
    };
  },
  dropData: (env) => table(env).drop(),
});
