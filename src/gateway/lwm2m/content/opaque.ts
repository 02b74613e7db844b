// application/octet-stream (content format 42): one Opaque resource as raw bytes, base64 on MQTT. Like EMQX,
// no definition is needed: the format itself says the value is opaque.
import type { PathValue } from './api.js';
import { formatPath, type LwPath } from './path.js';
import { asBase64 } from './values.js';

export function opaqueToContent(requestPath: LwPath, payload: Buffer): PathValue[] {
  return [{ path: formatPath(requestPath), value: payload.toString('base64') }];
}

export function contentToOpaque(base64: string): Buffer {
  return asBase64(base64);
}
