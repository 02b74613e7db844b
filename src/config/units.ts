/**
 * Parsing of the value formats EMQX-style config files use: durations ("30s", "1h30m", "100ms"),
 * byte sizes ("1MB", "64KB") and host:port binds ("0.0.0.0:1883", "1883", "[::1]:1883").
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Milliseconds of a duration such as "30s", "1h30m", "250ms", or a bare number of ms; undefined if unparsable. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim().toLowerCase();
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  if (/^\d+$/.test(text)) return Number(text);
  let total = 0;
  let consumed = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = DURATION_PART.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

/** Renders ms as the shortest exact duration string ("90000" → "90s", "5400000" → "90m"). */
export function formatDuration(ms: number): string {
  if (ms === Number.POSITIVE_INFINITY) return 'infinity';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Bytes of a size such as "1MB", "64KB", "512B" (1024-based, case-insensitive) or a bare number. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const text = value.trim().toLowerCase();
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * BYTE_UNITS[m[2] ?? 'b']!;
}

/** Renders bytes as the largest exact unit ("1048576" → "1MB"). */
export function formatByteSize(bytes: number): string {
  if (bytes === Number.POSITIVE_INFINITY) return 'infinity';
  for (const [unit, size] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** Host and port of a bind such as "0.0.0.0:1883", "[::]:1883", ":1883" or "1883" (all interfaces). */
export function parseBind(value: string | number): { host: string; port: number } | undefined {
  if (typeof value === 'number') return validPort(value) ? { host: '0.0.0.0', port: value } : undefined;
  const text = value.trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  const v4 = /^([^:\s]*):(\d+)$/.exec(text);
  const bare = /^(\d+)$/.exec(text);
  let host: string;
  let port: number;
  if (v6) [host, port] = [v6[1]!, Number(v6[2])];
  else if (v4) [host, port] = [v4[1] || '0.0.0.0', Number(v4[2])];
  else if (bare) [host, port] = ['0.0.0.0', Number(bare[1])];
  else return undefined;
  return validPort(port) ? { host, port } : undefined;
}

/** Renders a bind the way EMQX prints it ("0.0.0.0:1883", "[::1]:1883"). */
export function formatBind(bind: { host: string; port: number }): string {
  return bind.host.includes(':') ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/**
 * Events per second of a rate: a number (already per second), "infinity", or EMQX's "<n>/<period>" with an
 * optional count of units ("1000/s", "500/10s", "60/1m"). Undefined when unparsable.
 */
export function parseRate(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim().toLowerCase();
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+)?\s*(ms|s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  const periodMs = Number(m[2] ?? 1) * DURATION_UNITS[m[3]!]!;
  return periodMs > 0 ? (Number(m[1]) * 1000) / periodMs : undefined;
}
