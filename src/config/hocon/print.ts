/**
 * Prints JSON data as HOCON text that this reader (and EMQX's) reads back to the same data: objects as
 * `key { … }` blocks, everything else as `key = value` with JSON literals, keys quoted only when needed.
 */
import type { Json } from './resolve.js';

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The HOCON text of a root object, one field per line, nested objects indented by four spaces. */
export function printHocon(root: { [key: string]: Json }): string {
  const lines: string[] = [];
  printFields(root, '', lines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function printFields(obj: { [key: string]: Json }, indent: string, lines: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = BARE_KEY.test(k) ? k : JSON.stringify(k);
    if (isObject(v)) {
      if (Object.keys(v).length === 0) {
        lines.push(`${indent}${key} {}`);
        continue;
      }
      lines.push(`${indent}${key} {`);
      printFields(v, `${indent}    `, lines);
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}${key} = ${printValue(v, indent)}`);
    }
  }
}

function printValue(v: Json, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => !isObject(x) && !Array.isArray(x)))
      return `[${v.map((x) => printValue(x, indent)).join(', ')}]`;
    const inner = `${indent}    `;
    return `[\n${v.map((x) => `${inner}${printValue(x, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (isObject(v)) {
    const lines: string[] = [];
    printFields(v, `${indent}    `, lines);
    return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
  }
  // JSON literals are HOCON literals; strings are always quoted so none is misread as a number or path.
  // An exponent is written without '+' (1e21), which both JSON and unquoted HOCON text read the same way.
  if (typeof v === 'number') return JSON.stringify(v).replace('e+', 'e');
  return JSON.stringify(v);
}

function isObject(v: Json): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
