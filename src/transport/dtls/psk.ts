/**
 * Pre-shared keys by identity, loaded from EMQX's `psk_authentication.init_file` format: one
 * `<identity><separator><secret>` per line. Secrets are used as their bytes (EMQX stores them as given).
 */
import { readFile } from 'node:fs/promises';

/** `psk_authentication` as this module reads it. */
export interface PskConfig {
  readonly enable: boolean;
  readonly init_file: string;
  readonly separator: string;
}

/** The keys `psk_authentication` configures, or undefined when PSK is disabled. */
export async function pskFromConfig(c: PskConfig | undefined): Promise<PskLookup | undefined> {
  if (c === undefined || !c.enable) return undefined;
  const store = new PskStore();
  if (c.init_file !== '') {
    try {
      await store.loadFile(c.init_file, c.separator);
    } catch (err) {
      throw new Error(`psk_authentication.init_file ${c.init_file}: ${(err as Error).message}`);
    }
  }
  return store.lookup;
}

/** Looks up the key of an identity; undefined when unknown. */
export type PskLookup = (identity: string) => Buffer | undefined;

export class PskStore {
  private readonly keys = new Map<string, Buffer>();

  get size(): number {
    return this.keys.size;
  }

  set(identity: string, secret: Buffer | string): void {
    this.keys.set(identity, typeof secret === 'string' ? Buffer.from(secret) : secret);
  }

  delete(identity: string): boolean {
    return this.keys.delete(identity);
  }

  readonly lookup: PskLookup = (identity) => this.keys.get(identity);

  /**
   * Adds the entries of an init file's text. Blank lines are skipped; a line without the separator is an
   * error naming its line number (a typo must not silently lock a device out).
   */
  load(text: string, separator = ':'): number {
    let n = 0;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      const at = line.indexOf(separator);
      if (at <= 0) throw new Error(`PSK file line ${i + 1}: expected <identity>${separator}<secret>`);
      this.set(line.slice(0, at), line.slice(at + separator.length));
      n++;
    }
    return n;
  }

  /** Reads an init file (`chunk_size` is EMQX's import batch size; a file is read whole here). */
  async loadFile(path: string, separator = ':'): Promise<number> {
    return this.load(await readFile(path, 'utf8'), separator);
  }
}
