/**
 * Logging. One pino root logger; components take children with a `component` field. Levels use EMQX
 * names in config (warning, notice, critical…) and map onto pino's.
 */
import { pino } from 'pino';
import { logGuard } from './log-guard.js';

export type Logger = pino.Logger;

const LEVEL_MAP: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  all: 'trace',
  none: 'silent',
};

/** pino level for an EMQX level name (unknown names pass through, e.g. 'warn'). */
export function pinoLevel(level: string): string {
  return LEVEL_MAP[level] ?? level;
}

function initialLevel(): string {
  const env = process.env.HERMOD_LOG_LEVEL;
  if (env) return pinoLevel(env);
  // Tests start many brokers in-process; their expected errors would drown the test report.
  if (process.env.NODE_TEST_CONTEXT) return 'silent';
  return 'warn';
}

/** The process-wide logger; `configureLogging` replaces its destination at boot. */
export let logger: Logger = pino({
  level: initialLevel(),
  base: undefined,
  redact: { paths: ['password', '*.password', 'credential.password'], censor: '******' },
  timestamp: pino.stdTimeFunctions.isoTime,
  hooks: logGuard.hooks,
  formatters: { bindings: logGuard.bindings },
});

/** Replaces the root logger (called once by the node at boot with the configured handlers). */
export function setLogger(next: Logger): void {
  logger = next;
}
