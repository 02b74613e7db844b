/** JSON that keeps Buffers (e.g. Correlation Data in stored message properties) as base64. */

/** JSON.stringify with Buffers written as {"$b64": "..."}. */
export function stringifyWithBuffers(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { $b64: raw.toString('base64') } : v;
  });
}

/** JSON.parse turning {"$b64": "..."} back into Buffers. */
export function parseWithBuffers<T>(text: string): T {
  return JSON.parse(text, (_key, v) => {
    if (v !== null && typeof v === 'object' && typeof (v as { $b64?: unknown }).$b64 === 'string') {
      return Buffer.from((v as { $b64: string }).$b64, 'base64');
    }
    return v;
  }) as T;
}
