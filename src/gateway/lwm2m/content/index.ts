// The LwM2M data layer as the gateway uses it: the content codec, link-format, and the errors to map.
export * from './api.js';
export { createContentCodec } from './codec.js';
export { UnknownObjectError, UnknownResourceError } from './errors.js';
export {
  type ParsedLink,
  parseLinkFormat,
  serializeLink,
  serializeLinkFormat,
  splitLinkFormat,
} from './link-format.js';
