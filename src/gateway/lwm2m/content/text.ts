// text/plain (content format 0): one resource or resource instance as text, typed by its definition.
import { ContentError, type ObjectRegistry, type PathValue } from './api.js';
import { formatPath, type LwPath } from './path.js';
import { resourceDefinition, type TypedValue } from './typed.js';
import { jsonToText, textToJson } from './values.js';

export function textToContent(registry: ObjectRegistry, requestPath: LwPath, payload: Buffer): PathValue[] {
  if (requestPath.length < 3) {
    throw new ContentError(`text/plain answers only a resource, not ${formatPath(requestPath)}`);
  }
  const def = resourceDefinition(registry, requestPath);
  return [{ path: formatPath(requestPath), value: textToJson(def.type, payload) }];
}

export function contentToText(value: TypedValue): Buffer {
  return jsonToText(value.type, value.value);
}
