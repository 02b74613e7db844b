/** The MQTT wire codec: packet types, streaming parser, serializer. */

export * from './packets.js';
export { MqttParser, type ParserOptions, type ParserSink } from './parser.js';
export { connackReturnCode } from './reason-codes.js';
export {
  DISCONNECT_FRAME,
  encodePubAck,
  encodePublish,
  encodePublishFrame,
  PINGREQ_FRAME,
  PINGRESP_FRAME,
  publishPacketIdOffset,
  publishSize,
  serialize,
} from './serializer.js';
export { decodeMqttString, isValidMqttUtf8, mqttStringLength } from './utf8.js';
export { VARINT_MAX, varintSize, writeVarint } from './varint.js';
