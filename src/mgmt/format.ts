/** Value formats the API shares with EMQX: RFC 3339 times, "infinity", parsed time filters. */

/** Epoch ms as RFC 3339 with milliseconds (UTC). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** Epoch ms or "infinity" for a missing end time. */
export function rfc3339OrInfinity(ms: number | undefined): string {
  return ms === undefined ? 'infinity' : rfc3339(ms);
}

/**
 * A time given as epoch seconds (EMQX's ban/API key times), epoch ms (client filters: `ms` true) or an
 * RFC 3339 string. Returns epoch ms, or undefined when unparseable.
 */
export function parseTime(v: string | number, unit: 's' | 'ms'): number | undefined {
  if (typeof v === 'number') return unit === 's' ? v * 1000 : v;
  if (/^\d+$/.test(v)) return unit === 's' ? Number(v) * 1000 : Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
