// The object definitions a LwM2M gateway types values with: the XML shipped in etc/lwm2m_xml plus the
// operator's `xml_dir`, whose files add objects or replace shipped ones with the same object id.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageFile } from '../../../package-file.js';
import type { ObjectDefinition, ObjectRegistry, ResourceDefinition } from '../content/api.js';
import { ObjectDefinitionError, parseObjectDefinitions } from './definition.js';

export { ObjectDefinitionError, parseObjectDefinitions };

export interface ObjectRegistryOptions {
  /** Directory of the definitions shipped with Hermod; defaults to shippedObjectDir(). */
  readonly shippedDir?: string;
  /** The gateway's `xml_dir`: adds or overrides definitions by object id. */
  readonly xmlDir?: string;
}

/**
 * Where etc/lwm2m_xml is: found from this module upwards (next to package.json), so it works from src/, from
 * dist/src/ and from an installed package (package.json ships `etc`).
 */
export function shippedObjectDir(): string {
  return packageFile('etc', 'lwm2m_xml');
}

/** Loads the shipped definitions, then `xmlDir`'s; throws ObjectDefinitionError for a file that does not parse. */
export function loadObjectRegistry(options: ObjectRegistryOptions = {}): ObjectRegistry {
  const byId = new Map<number, ObjectDefinition>();
  for (const def of readDefinitionDir(options.shippedDir ?? shippedObjectDir())) byId.set(def.id, def);
  if (options.xmlDir !== undefined && options.xmlDir !== '') {
    for (const def of readDefinitionDir(options.xmlDir)) byId.set(def.id, def);
  }
  return createObjectRegistry(byId.values());
}

/** A registry over definitions already in memory (later ones win on equal object ids). */
export function createObjectRegistry(definitions: Iterable<ObjectDefinition>): ObjectRegistry {
  const byId = new Map<number, ObjectDefinition>();
  for (const def of definitions) byId.set(def.id, def);
  return {
    get: (objectId) => byId.get(objectId),
    resource: (objectId, resourceId): ResourceDefinition | undefined =>
      byId.get(objectId)?.resources.get(resourceId),
    all: () => byId.values(),
  };
}

/** Every `*.xml` of a directory in name order, so which of two files defining one object wins is stable. */
function readDefinitionDir(dir: string): ObjectDefinition[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.xml'));
  } catch (err) {
    throw new ObjectDefinitionError(
      dir,
      0,
      `cannot read the definition directory (${(err as Error).message})`,
    );
  }
  names.sort();
  const out: ObjectDefinition[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ObjectDefinitionError(file, 0, `cannot read (${(err as Error).message})`);
    }
    out.push(...parseObjectDefinitions(text, file));
  }
  return out;
}
