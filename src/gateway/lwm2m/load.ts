/** Loads the data layer of one `xml_dir`: the shipped object definitions plus that directory's, and codecs. */
import type { DataLayer } from './data.js';

export async function loadDataLayer(xmlDir: string): Promise<DataLayer> {
  throw new Error(`lwm2m data layer not available yet (${xmlDir})`);
}
