/**
 * A plugin's runtime config: `<data_dir>/plugins/NAME/config.hocon`, keyed by name without version so it
 * survives upgrades. Every write keeps the previous file as a backup (the newest 10 are kept).
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Json, parseHocon, printHocon } from '../config/hocon/index.js';

const MAX_BACKUPS = 10;

/** Reads a HOCON file as JSON; undefined when absent, throws with the parse errors when bad. */
export function readHoconFile(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const r = parseHocon(readFileSync(path, 'utf8'), { file: path });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('; '));
  return r.value;
}

/** The runtime config files of one plugin. */
export class PluginConfigFile {
  readonly dir: string;
  readonly path: string;

  constructor(dataDir: string, name: string) {
    this.dir = join(dataDir, 'plugins', name);
    this.path = join(this.dir, 'config.hocon');
  }

  /** The current config, or undefined when there is none. */
  read(): Record<string, unknown> | undefined {
    return readHoconFile(this.path);
  }

  /** Copies the package's defaults when the plugin has no config yet. */
  seed(defaultsPath: string): void {
    if (existsSync(this.path) || !existsSync(defaultsPath)) return;
    mkdirSync(this.dir, { recursive: true });
    copyFileSync(defaultsPath, this.path);
  }

  /** Writes a new config, moving the old file to a timestamped backup. */
  write(config: Record<string, unknown>): void {
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(this.path)) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      // Two writes within one millisecond still keep two backups; the names sort by age either way.
      let n = 0;
      const name = () => join(this.dir, `config.hocon.${stamp}-${String(n).padStart(4, '0')}.bak`);
      while (existsSync(name())) n++;
      const backup = name();
      renameSync(this.path, backup);
      this.prune();
    }
    writeFileSync(this.path, printHocon(config as { [k: string]: Json }));
  }

  private prune(): void {
    const backups = readdirSync(this.dir)
      .filter((f) => f.startsWith('config.hocon.') && f.endsWith('.bak'))
      .sort();
    for (const f of backups.slice(0, Math.max(0, backups.length - MAX_BACKUPS))) rmSync(join(this.dir, f));
  }
}
