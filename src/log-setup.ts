/**
 * Builds the root logger from `log.*`: a console handler and named rotating file handlers, each with its
 * own level and formatter (text or json), as EMQX 5 configures them. Level names are EMQX's (warning,
 * critical…) in the output too. File writes are synchronous, like pino's default destination: a log line is
 * on disk before the call returns, so nothing is lost when the process dies.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { HermodConfig } from './config/schema/index.js';
import type { ConfigService } from './config/service.js';
import { type Logger, pinoLevel, setLogger } from './log.js';
import { logGuard, setThrottleWindow } from './log-guard.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './private-files.js';

/** The decoded `log` section. */
export type LogConfig = HermodConfig['log'];

/** A log file that is renamed to path.1 (path.1 to path.2, …) when it would grow past `maxBytes`. */
export class RotatingFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    /** Infinity: never rotate. */
    private readonly maxBytes: number,
    /** Rotated files kept (path.1 … path.<count>). */
    private readonly count: number,
  ) {
    ensurePrivateDir(dirname(path));
    this.fd = openSync(path, 'a', PRIVATE_FILE_MODE);
    this.size = fstatSync(this.fd).size;
  }

  /** Appends one line (with its newline), rotating first when it would not fit. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += bytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    closeSync(this.fd);
    const oldest = `${this.path}.${this.count}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let n = this.count - 1; n >= 1; n--) {
      if (existsSync(`${this.path}.${n}`)) renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', PRIVATE_FILE_MODE);
    this.size = 0;
  }
}

const EMQX_LEVEL: Record<number, string> = {
  10: 'debug',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'critical',
};

/** Renders a pino JSON line as "2024-01-01T00:00:00.000Z [warning] message key=value …". */
export function textLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...rest } = rec;
  let out = `${String(time)} [${String(level)}] ${msg === undefined ? '' : String(msg)}`;
  let stack = '';
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'err' && v !== null && typeof v === 'object' && 'message' in v) {
      out += ` err=${JSON.stringify((v as { message: unknown }).message)}`;
      if ('stack' in v && typeof v.stack === 'string') stack = `\n${v.stack}`;
      continue;
    }
    out += ` ${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`;
  }
  return `${out}${stack}\n`;
}

interface Handler {
  level: string;
  write: (line: string) => void;
}

let openFiles: RotatingFile[] = [];

function handlers(log: LogConfig, files: RotatingFile[]): Handler[] {
  const out: Handler[] = [];
  const format = (formatter: string, write: (s: string) => void) =>
    formatter === 'json' ? write : (line: string) => write(textLine(line));
  if (log.console.enable && pinoLevel(log.console.level) !== 'silent') {
    out.push({
      level: pinoLevel(log.console.level),
      write: format(log.console.formatter, (s) => process.stdout.write(s)),
    });
  }
  for (const f of Object.values(log.file)) {
    if (!f.enable || pinoLevel(f.level) === 'silent') continue;
    const file = new RotatingFile(f.path, f.rotation_size, f.rotation_count);
    files.push(file);
    out.push({ level: pinoLevel(f.level), write: format(f.formatter, (s) => file.write(s)) });
  }
  return out;
}

/** A logger writing to the handlers of `log` (throws when a log file cannot be opened). */
export function buildLogger(log: LogConfig, files: RotatingFile[] = []): Logger {
  const hs = handlers(log, files);
  const options: pino.LoggerOptions = {
    base: undefined,
    redact: { paths: ['password', '*.password', 'credential.password'], censor: '******' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label, n) => ({ level: EMQX_LEVEL[n] ?? label }), bindings: logGuard.bindings },
    hooks: logGuard.hooks,
  };
  if (hs.length === 0) return pino({ ...options, level: 'silent' });
  const lowest = hs.reduce(
    (a, h) => (pino.levels.values[h.level]! < pino.levels.values[a]! ? h.level : a),
    hs[0]!.level,
  );
  return pino(
    { ...options, level: lowest },
    pino.multistream(hs.map((h) => ({ level: h.level as pino.Level, stream: { write: h.write } }))),
  );
}

/**
 * Replaces the root logger with one built from `log` and closes the files of the previous one. On error
 * (a file that cannot be opened) the previous logger stays.
 */
export function configureLogging(log: LogConfig): Logger {
  const files: RotatingFile[] = [];
  let next: Logger;
  try {
    next = buildLogger(log, files);
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
  setLogger(next);
  setThrottleWindow(log.throttling.time_window);
  for (const f of openFiles) f.close();
  openFiles = files;
  return next;
}

/** Applies `log` changes made at runtime (API, CLI); returns the unregister function. */
export function watchLogConfig(service: ConfigService): () => void {
  return service.onChange('log', (next) => {
    configureLogging(next);
  });
}

/** Closes the log files (at shutdown); later log lines go to the console handler only. */
export function closeLogging(log: LogConfig): void {
  configureLogging({ ...log, file: {} });
}
