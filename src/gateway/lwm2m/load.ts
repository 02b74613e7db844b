/** Loads the data layer of one `xml_dir`: the shipped object definitions plus that directory's, and codecs. */
import { createContentCodec, parseLinkFormat } from './content/index.js';
import type { DataLayer } from './data.js';
import { loadObjectRegistry } from './objects/registry.js';

/** Throws (naming the file and line) when a definition does not parse: the gateway does not start then. */
export async function loadDataLayer(xmlDir: string): Promise<DataLayer> {
  const registry = loadObjectRegistry({ xmlDir });
  return { registry, codec: createContentCodec(registry), parseLinks: parseLinkFormat };
}
