/**
 * The live configuration. Components read the decoded config and register a handler per root key; a change
 * made at runtime (API, CLI) is validated against the whole schema, applied by the owning component, and
 * persisted to an override file under node.data_dir that the loader reads after the main file at boot.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logger } from '../log.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-files.js';
import { type ConfigError, resolveConfig } from './resolve.js';
import type { HermodConfig, HermodConfigRaw } from './schema/index.js';

export type RootKey = keyof HermodConfig & string;

/** Applies a new value of one root key; throw (or reject) to refuse it (the change is then rolled back). */
export type ChangeHandler<K extends RootKey = RootKey> = (
  next: HermodConfig[K],
  prev: HermodConfig[K],
) => void | Promise<void>;

/**
 * Told after a runtime change (update()) was applied and persisted, outside the update queue, so it may
 * itself apply further changes; update() resolves once every listener finished. The cluster's config log
 * uses it to append the change for the other nodes.
 */
export type UpdateListener = (key: RootKey, value: unknown) => void | Promise<void>;

export class ConfigUpdateError extends Error {
  constructor(
    message: string,
    readonly errors: ConfigError[],
  ) {
    super(message);
    this.name = 'ConfigUpdateError';
  }
}

/** Where runtime changes are kept, relative to node.data_dir (EMQX keeps them in data/configs/cluster.hocon). */
export const OVERRIDE_FILE = join('configs', 'cluster.hocon');

export class ConfigService {
  private readonly handlers = new Map<RootKey, ChangeHandler[]>();
  /** Root keys changed at runtime (what the override file holds). */
  private overrides: Partial<Record<RootKey, unknown>>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly updateListeners = new Set<UpdateListener>();

  constructor(
    /** The merged raw config (files + environment) the node booted with, plus earlier overrides. */
    private raw: Record<string, unknown>,
    public config: HermodConfig,
    /** Path of the override file; undefined keeps runtime changes in memory only (tests). */
    readonly overridePath: string | undefined,
    initialOverrides: Partial<Record<RootKey, unknown>> = {},
  ) {
    this.overrides = { ...initialOverrides };
  }

  /** The raw (file-form) value of a root key, e.g. durations as "30s". */
  getRaw(key: RootKey): unknown {
    return structuredClone(this.raw[key] ?? {});
  }

  /** Every root key's raw value. */
  getAllRaw(): Record<string, unknown> {
    return structuredClone(this.raw);
  }

  /** Registers the component that applies changes to `key`. Returns an unregister function. */
  onChange<K extends RootKey>(key: K, handler: ChangeHandler<K>): () => void {
    const list = this.handlers.get(key) ?? [];
    list.push(handler as unknown as ChangeHandler);
    this.handlers.set(key, list);
    return () => {
      const l = this.handlers.get(key) ?? [];
      this.handlers.set(
        key,
        l.filter((h) => h !== (handler as unknown as ChangeHandler)),
      );
    };
  }

  /**
   * Replaces root key `key` with `value` (raw form). Validates the whole config, applies it through the
   * handlers (rolling back on failure) and persists it. Updates run one at a time.
   */
  async update(key: RootKey, value: unknown): Promise<HermodConfig[RootKey]> {
    const applied = await this.applyQueued(key, value);
    for (const listener of this.updateListeners) await listener(key, structuredClone(value));
    return applied;
  }

  /**
   * Applies a change another node made (the cluster's config log): validated, applied and persisted as by
   * update(), but update listeners are not told, so the change is not sent back to the cluster.
   */
  applyReplicated(key: RootKey, value: unknown): Promise<HermodConfig[RootKey]> {
    return this.applyQueued(key, value);
  }

  /** Follows runtime changes made on this node (see UpdateListener). Returns an unsubscribe function. */
  onUpdated(listener: UpdateListener): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  private applyQueued(key: RootKey, value: unknown): Promise<HermodConfig[RootKey]> {
    const run = this.queue.then(() => this.apply(key, value));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(key: RootKey, value: unknown): Promise<HermodConfig[RootKey]> {
    const nextRaw = { ...this.raw, [key]: value };
    const resolved = resolveConfig(nextRaw);
    if (!resolved.ok) {
      const mine = resolved.errors.filter((e) => e.path === key || e.path.startsWith(`${key}.`));
      const errors = mine.length > 0 ? mine : resolved.errors;
      throw new ConfigUpdateError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    }
    const prev = this.config;
    const next = resolved.value;
    const handlers = this.handlers.get(key) ?? [];
    const applied: ChangeHandler[] = [];
    try {
      for (const h of handlers) {
        await h(next[key], prev[key]);
        applied.push(h);
      }
    } catch (err) {
      // Put back what was already applied so the node is consistent with the config it reports.
      for (const h of applied.reverse()) {
        try {
          await h(prev[key], next[key]);
        } catch (rollbackErr) {
          logger.error({ err: rollbackErr, key }, 'config: rollback failed');
        }
      }
      throw err;
    }
    this.raw = nextRaw;
    this.config = next;
    this.overrides[key] = value;
    this.persist();
    return next[key];
  }

  /**
   * Applies a freshly loaded config (files + environment + overrides, as at boot): every root key whose value
   * changed goes through its handlers, as a runtime change would, but nothing is written to the override
   * file — the files are the source. Returns the changed root keys; stops at the first refused one.
   */
  reload(raw: Record<string, unknown>): Promise<string[]> {
    const run = this.queue.then(async () => {
      const changed = Object.keys({ ...this.raw, ...raw }).filter(
        (k) => JSON.stringify(this.raw[k]) !== JSON.stringify(raw[k]),
      ) as RootKey[];
      const resolved = resolveConfig(raw);
      if (!resolved.ok) {
        throw new ConfigUpdateError(
          resolved.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
          resolved.errors,
        );
      }
      for (const key of changed) {
        const prev = this.config;
        const next = { ...prev, [key]: resolved.value[key] } as HermodConfig;
        for (const h of this.handlers.get(key) ?? []) await h(next[key], prev[key]);
        this.raw = { ...this.raw, [key]: raw[key] };
        this.config = next;
      }
      return changed;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes the override file atomically (JSON, which is valid HOCON). */
  private persist(): void {
    if (this.overridePath === undefined) return;
    ensurePrivateDir(dirname(this.overridePath));
    const tmp = `${this.overridePath}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.overrides, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, this.overridePath);
  }

  /** The overrides written so far (for tests and `conf show`). */
  get overrideValues(): Partial<Record<RootKey, unknown>> {
    return structuredClone(this.overrides);
  }
}

/** Reads an override file written by ConfigService (JSON); a missing file means no overrides. */
export function readOverrides(path: string): Partial<Record<RootKey, unknown>> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<RootKey, unknown>>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read config overrides ${path}: ${(err as Error).message}`);
  }
}

export type { HermodConfigRaw };
