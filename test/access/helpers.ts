/** Small helpers for the access-control tests: log in with a raw client and read the CONNACK code. */
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { RawClient } from '../helpers/raw-client.js';

/** Connects (MQTT 5 unless told otherwise) and returns the CONNACK reason code with the client. */
export async function login(
  port: number,
  o: {
    clientId?: string;
    username?: string;
    password?: string | Buffer;
    version?: 4 | 5;
    props?: IConnectPacket['properties'];
    /** How long CONNACK may take (a first login waits for its backends' connections). */
    connackTimeoutMs?: number;
  } = {},
): Promise<{ code: number; client: RawClient; connack: IConnackPacket }> {
  const version = o.version ?? 5;
  const connect: Partial<IConnectPacket> = {
    clientId: o.clientId ?? `t-${Math.random().toString(16).slice(2, 10)}`,
  };
  if (o.username !== undefined) connect.username = o.username;
  if (o.password !== undefined)
    connect.password = Buffer.isBuffer(o.password) ? o.password : Buffer.from(o.password);
  if (o.props !== undefined) connect.properties = o.props;
  const { client, connack } = await RawClient.connect(port, connect, version, o.connackTimeoutMs);
  const code = version === 5 ? (connack.reasonCode ?? 0) : (connack.returnCode ?? 0);
  return { code, client, connack };
}

/** Connects, asserts nothing, closes; returns the CONNACK code. */
export async function loginCode(port: number, o: Parameters<typeof login>[1] = {}): Promise<number> {
  const { code, client } = await login(port, o);
  client.disconnect();
  return code;
}

/** The MQTT 5 reason codes these tests look for. */
export const RC = { OK: 0, BAD_USER: 0x86, NOT_AUTHORIZED: 0x87, BAD_METHOD: 0x8c } as const;

/** Logs in again (every 500 ms, up to 20 s) until the code is `want`: a backend coming back after backoff. */
export async function loginEventually(
  port: number,
  o: Parameters<typeof login>[1],
  want: number,
): Promise<number> {
  let code = -1;
  for (let i = 0; i < 40 && code !== want; i++) {
    code = await loginCode(port, o);
    if (code !== want) await new Promise((r) => setTimeout(r, 500));
  }
  return code;
}
