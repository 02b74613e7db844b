/**
 * Which reason codes each MQTT 5 packet may carry (MQTT 5 §3.x.2.1 tables). A sender MUST use one of them
 * (e.g. [MQTT-3.4.2-1]); a parseable packet carrying another is a Protocol Error, so the parser checks these.
 */

function table(codes: number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of codes) t[c] = 1;
  return t;
}

/** CONNACK (§3.2.2.2). */
export const CONNACK_CODES = table([
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a,
  0x9b, 0x9c, 0x9d, 0x9f,
]);

/** PUBACK and PUBREC (§3.4.2.1, §3.5.2.1). */
export const PUBACK_CODES = table([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

/** PUBREL and PUBCOMP (§3.6.2.1, §3.7.2.1). */
export const PUBREL_CODES = table([0x00, 0x92]);

/** SUBACK (§3.9.3). */
export const SUBACK_CODES = table([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);

/** SUBACK return codes of MQTT 3.1.1 (§3.9.3): granted QoS or failure. */
export const SUBACK_CODES_V4 = table([0x00, 0x01, 0x02, 0x80]);

/** UNSUBACK (§3.11.3). */
export const UNSUBACK_CODES = table([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);

/** DISCONNECT (§3.14.2.1), either direction. */
export const DISCONNECT_CODES = table([
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97,
  0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);

/** AUTH (§3.15.2.1). */
export const AUTH_CODES = table([0x00, 0x18, 0x19]);

/**
 * Maps an MQTT 5 CONNACK reason code to the nearest MQTT 3.x return code (3.1.1 §3.2.2.3), so the channel can
 * think in v5 codes for every client. Codes 0..5 pass through; other failures are the server's problem (3).
 */
export function connackReturnCode(reasonCode: number): number {
  if (reasonCode <= 5) return reasonCode;
  switch (reasonCode) {
    case 0x84: // Unsupported Protocol Version
      return 1;
    case 0x85: // Client Identifier not valid
      return 2;
    case 0x86: // Bad User Name or Password
      return 4;
    case 0x87: // Not authorized
    case 0x8a: // Banned
    case 0x8c: // Bad authentication method
      return 5;
    default:
      return 3;
  }
}
