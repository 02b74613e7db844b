/** Captures what the process-wide logger writes, as parsed JSON lines, until `restore` is called. */
import pino from 'pino';
import { logger, setLogger } from '../../src/log.js';

export interface LogCapture {
  // biome-ignore lint/suspicious/noExplicitAny: tests read log fields directly; a wrong field fails the assertion
  readonly lines: any[];
  /** Lines whose message contains `text`. */
  // biome-ignore lint/suspicious/noExplicitAny: see lines
  matching(text: string): any[];
  restore(): void;
}

/** Routes every log line at `level` and above into memory. */
export function captureLogs(level = 'info'): LogCapture {
  const previous = logger;
  // biome-ignore lint/suspicious/noExplicitAny: see LogCapture.lines
  const lines: any[] = [];
  const sink = { write: (s: string) => lines.push(JSON.parse(s)) };
  setLogger(pino({ level, base: undefined }, sink));
  return {
    lines,
    matching: (text) => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(text)),
    restore: () => setLogger(previous),
  };
}
