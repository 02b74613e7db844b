/**
 * API keys for HTTP Basic authentication (EMQX `emqx_mgmt_auth`): created through the API or read from
 * `api_key.bootstrap_file` at boot, secrets stored hashed. The local `hermod ctl` credential is one more
 * key, regenerated at every start, kept in memory only and allowed everywhere.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Db } from '../../store/db.js';
import { badRequest, notFound } from '../errors.js';
import { hashSecret, randomToken, verifySecret } from './secrets.js';

export const API_ROLES = ['administrator', 'viewer', 'publisher'] as const;

export interface ApiKey {
  name: string;
  api_key: string;
  desc: string;
  enable: boolean;
  /** Epoch ms; undefined = never. */
  expired_at: number | undefined;
  created_at: number;
  role: string;
}

interface StoredKey extends ApiKey {
  secret: string;
}

/** Result of checking Basic credentials. */
export type KeyCheck = { ok: true; kind: 'api_key' | 'ctl'; key: string; role: string } | { ok: false };

const SCOPE = 'api_keys';
const NAME_RE = /^[A-Za-z]+[A-Za-z0-9-_]*$/;

export class ApiKeys {
  private ctl: { key: string; secret: string } | undefined;

  constructor(private readonly db: Db) {}

  list(): ApiKey[] {
    return this.rows().map(publicView);
  }

  get(name: string): ApiKey | undefined {
    const r = this.row(name);
    return r === undefined ? undefined : publicView(r);
  }

  /** Creates a key with a random key and secret; the secret is returned this once. */
  create(input: {
    name: string;
    desc?: string;
    enable?: boolean;
    expired_at?: number;
    role?: string;
  }): ApiKey & {
    api_secret: string;
  } {
    checkName(input.name);
    if (this.row(input.name) !== undefined) throw badRequest(`Name ${input.name} already exists`);
    const role = input.role ?? 'administrator';
    checkRole(role);
    const secret = randomToken(33);
    const k: StoredKey = {
      name: input.name,
      api_key: randomBytes(8).toString('hex'),
      desc: input.desc ?? '',
      enable: input.enable ?? true,
      expired_at: input.expired_at,
      created_at: Date.now(),
      role,
      secret: hashSecret(secret),
    };
    this.put(k);
    return { ...publicView(k), api_secret: secret };
  }

  update(
    name: string,
    changes: { desc?: string; enable?: boolean; expired_at?: number | null; role?: string },
  ): ApiKey {
    const k = this.row(name);
    if (k === undefined) throw notFound('Name NOT FOUND');
    if (changes.role !== undefined) checkRole(changes.role);
    const next: StoredKey = {
      ...k,
      desc: changes.desc ?? k.desc,
      enable: changes.enable ?? k.enable,
      // EMQX: an update without expired_at makes the key never expire.
      expired_at: changes.expired_at ?? undefined,
      role: changes.role ?? k.role,
    };
    this.put(next);
    return publicView(next);
  }

  delete(name: string): void {
    if (this.row(name) === undefined) throw notFound('Name NOT FOUND');
    this.db.prepare('DELETE FROM kv WHERE scope = ? AND key = ?').run(SCOPE, name);
  }

  /** Loads `key:secret[:role]` lines; each becomes (or replaces) the key named from_bootstrap_file_<key>. */
  loadBootstrapFile(path: string): number {
    const text = readFileSync(path, 'utf8');
    let n = 0;
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line.length === 0 || line.startsWith('#')) continue;
      const [key, secret, role = 'administrator'] = line.split(':');
      if (key === undefined || secret === undefined || key.length === 0 || secret.length === 0)
        throw new Error(`${path}:${i + 1}: expected "key:secret[:role]"`);
      if (!(API_ROLES as readonly string[]).includes(role))
        throw new Error(`${path}:${i + 1}: unknown role ${role}`);
      const name = `from_bootstrap_file_${key}`.replace(/[^A-Za-z0-9-_]/g, '_');
      const old = this.row(name);
      this.put({
        name,
        api_key: key,
        desc: 'Created from the api_key.bootstrap_file',
        enable: true,
        expired_at: undefined,
        created_at: old?.created_at ?? Date.now(),
        role,
        secret: hashSecret(secret),
      });
      n++;
    }
    return n;
  }

  /** Makes a fresh local credential for `hermod ctl` (valid until the node stops). */
  newCtlCredential(): { key: string; secret: string } {
    this.ctl = { key: `ctl-${randomBytes(8).toString('hex')}`, secret: randomToken(32) };
    return this.ctl;
  }

  /** Checks Basic credentials (never dashboard usernames/passwords). */
  check(key: string, secret: string): KeyCheck {
    if (this.ctl !== undefined && key === this.ctl.key)
      return secret === this.ctl.secret
        ? { ok: true, kind: 'ctl', key, role: 'administrator' }
        : { ok: false };
    const k = this.rows().find((r) => r.api_key === key);
    if (k === undefined || !k.enable) return { ok: false };
    if (k.expired_at !== undefined && k.expired_at <= Date.now()) return { ok: false };
    return verifySecret(secret, k.secret) ? { ok: true, kind: 'api_key', key, role: k.role } : { ok: false };
  }

  private row(name: string): StoredKey | undefined {
    const r = this.db.prepare('SELECT value FROM kv WHERE scope = ? AND key = ?').get(SCOPE, name) as
      | { value: string }
      | undefined;
    return r === undefined ? undefined : fromJson(r.value);
  }

  private rows(): StoredKey[] {
    const rows = this.db.prepare('SELECT value FROM kv WHERE scope = ? ORDER BY key').all(SCOPE) as Array<{
      value: string;
    }>;
    return rows.map((r) => fromJson(r.value));
  }

  private put(k: StoredKey): void {
    this.db
      .prepare('INSERT OR REPLACE INTO kv (scope, key, value) VALUES (?, ?, ?)')
      .run(SCOPE, k.name, JSON.stringify({ ...k, expired_at: k.expired_at ?? null }));
  }
}

function fromJson(s: string): StoredKey {
  const k = JSON.parse(s) as Omit<StoredKey, 'expired_at'> & { expired_at: number | null };
  return { ...k, expired_at: k.expired_at ?? undefined };
}

function publicView(k: StoredKey): ApiKey {
  const { secret: _secret, ...rest } = k;
  return rest;
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > 256 || !NAME_RE.test(name))
    throw badRequest('Name should be ^[A-Za-z]+[A-Za-z0-9-_]*$ and at most 256 characters');
}

function checkRole(role: string): void {
  if (!(API_ROLES as readonly string[]).includes(role)) throw badRequest(`Role does not exist: ${role}`);
}
