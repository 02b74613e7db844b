/**
 * ExProto connection ids: opaque strings the gateway mints and handlers echo back. EMQX sends the base64
 * of its connection process id; Hermod sends the base64 of "<serial>@<node>", so an id is unique per node
 * run and a string that does not decode to that shape is told apart from one that simply is not alive.
 */

const SHAPE = /^[0-9]+@.+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A new id for the `serial`th connection of this gateway run. */
export function mintConnId(serial: number, node: string): string {
  return Buffer.from(`${serial}@${node}`).toString('base64');
}

/** True when `id` could have been minted by mintConnId (it may still be closed or unknown). */
export function isConnId(id: string): boolean {
  if (id.length === 0 || id.length % 4 !== 0 || !BASE64.test(id)) return false;
  return SHAPE.test(Buffer.from(id, 'base64').toString('utf8'));
}
