/**
 * What the gateway needs from the data layer (content formats, object definitions, link-format) for one
 * `xml_dir`, loaded once when the gateway starts and shared by its channels.
 */
import type { ContentCodec, ObjectRegistry } from './content/api.js';
import type { LinkParser } from './registration.js';

export interface DataLayer {
  readonly registry: ObjectRegistry;
  readonly codec: ContentCodec;
  readonly parseLinks: LinkParser;
}
