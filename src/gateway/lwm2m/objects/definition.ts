// Reads OMA LwM2M object definition XML (the registry's `<LWM2M><Object>…` format) into ObjectDefinitions.
// The parser only reports syntax; this module checks the structure the codecs rely on (numeric ids, known
// types) so a broken definition is refused at load time with its file and line, never at the first read.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ObjectDefinition, ResourceDefinition } from '../content/api.js';
import { valueTypeOf } from '../content/values.js';

/** A definition file that cannot be used; `file` and `line` (1-based, 0 when unknown) say where. */
export class ObjectDefinitionError extends Error {
  override readonly name = 'ObjectDefinitionError';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Keep every text as written: "0" stays a string, ids are checked below.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'Object' || name === 'Item',
});

type XmlNode = Record<string, unknown>;

/** Parses one definition file's text; `file` names it in errors. A file may hold several objects. */
export function parseObjectDefinitions(text: string, file: string): ObjectDefinition[] {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new ObjectDefinitionError(file, valid.err.line, valid.err.msg);
  let doc: XmlNode;
  try {
    doc = parser.parse(text) as XmlNode;
  } catch (err) {
    // The validator passes a few malformed inputs (e.g. an unclosed processing instruction) that the
    // parser then rejects without a position.
    throw new ObjectDefinitionError(file, 0, (err as Error).message);
  }
  const root = doc['LWM2M'];
  if (root === undefined) throw new ObjectDefinitionError(file, 1, 'no <LWM2M> root element');
  const objects = isNode(root) ? root['Object'] : undefined;
  if (!Array.isArray(objects) || objects.length === 0) {
    throw new ObjectDefinitionError(file, lineOf(text, '<LWM2M'), 'no <Object> element');
  }
  return objects.map((o) => readObject(o, text, file));
}

function readObject(node: unknown, text: string, file: string): ObjectDefinition {
  const where = lineOf(text, '<Object');
  if (!isNode(node)) throw new ObjectDefinitionError(file, where, '<Object> is empty');
  const id = readId(node['ObjectID'], 'ObjectID', file, lineOf(text, '<ObjectID'));
  const name = readText(node['Name']);
  if (name === '') throw new ObjectDefinitionError(file, lineOf(text, '<Name'), `object ${id} has no <Name>`);
  const resources = new Map<number, ResourceDefinition>();
  const container = node['Resources'];
  const items = isNode(container) && Array.isArray(container['Item']) ? container['Item'] : [];
  for (const item of items) {
    const r = readResource(item, id, text, file);
    resources.set(r.id, r);
  }
  return {
    id,
    name,
    ...optional('urn', readText(node['ObjectURN'])),
    ...optional('objectVersion', readText(node['ObjectVersion'])),
    ...optional('lwm2mVersion', readText(node['LWM2MVersion'])),
    multiple: readText(node['MultipleInstances']).toLowerCase() === 'multiple',
    mandatory: readText(node['Mandatory']).toLowerCase() === 'mandatory',
    ...optional('description', readText(node['Description1'])),
    resources,
  };
}

function readResource(node: unknown, objectId: number, text: string, file: string): ResourceDefinition {
  if (!isNode(node))
    throw new ObjectDefinitionError(file, lineOf(text, '<Item'), `object ${objectId}: empty <Item>`);
  const rawId = node['@_ID'];
  const line = lineOf(text, `ID="${String(rawId)}"`) || lineOf(text, '<Item');
  const id = readId(rawId, `resource ID of object ${objectId}`, file, line);
  const typeText = readText(node['Type']);
  const type = typeText === '' ? 'None' : valueTypeOf(typeText);
  if (type === undefined) {
    throw new ObjectDefinitionError(
      file,
      line,
      `object ${objectId} resource ${id}: unknown type "${typeText}"`,
    );
  }
  return {
    id,
    name: readText(node['Name']),
    operations: readText(node['Operations']),
    multiple: readText(node['MultipleInstances']).toLowerCase() === 'multiple',
    mandatory: readText(node['Mandatory']).toLowerCase() === 'mandatory',
    type,
    ...optional('units', readText(node['Units'])),
    ...optional('rangeEnumeration', readText(node['RangeEnumeration'])),
    ...optional('description', readText(node['Description'])),
  };
}

/** Object and resource ids are 16-bit (65535 is reserved by the TLV and path encodings). */
function readId(value: unknown, what: string, file: string, line: number): number {
  const text = readText(value);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65534) {
    throw new ObjectDefinitionError(file, line, `${what} "${text}" is not a number in 0..65534`);
  }
  return Number(text);
}

function readText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // An element with attributes and text parses to {'#text': …}.
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'].trim();
  return '';
}

function optional<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 1-based line of the first occurrence of `needle`, 0 when absent. */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) return 0;
  let line = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
