/**
 * The LwM2M object definitions loaded per `xml_dir`, shared by the gateway (./index.ts loads them when it
 * starts) and its REST routes (./routes.ts reads them). Kept apart from the loader so the management API can
 * mount the routes without loading the XML parser, CBOR and CoAP codecs (./index.ts).
 */
import type { DataLayer } from './data.js';
import type { Lwm2mConfig } from './schema.js';

/** Data layers by `xml_dir`. */
const layers = new Map<string, DataLayer>();
/** The last one loaded: serves while a changed `xml_dir` loads (or if it failed to). */
let latest: DataLayer | undefined;

/** The data layer of a config (or the last one loaded). */
export function dataFor(config: Lwm2mConfig): DataLayer | undefined {
  return layers.get(config.xml_dir) ?? latest;
}

/** The layer loaded for `xmlDir`, if it was. */
export function loadedLayer(xmlDir: string): DataLayer | undefined {
  return layers.get(xmlDir);
}

/** Records the layer of `xmlDir` as loaded and the latest one. */
export function setLayer(xmlDir: string, layer: DataLayer): void {
  layers.set(xmlDir, layer);
  latest = layer;
}
