/**
 * AUTH (MQTT 5 enhanced authentication): continues a login exchange, or re-authenticates a connected
 * client. The authenticators behind client.authenticate (e.g. SCRAM) produce the challenge data.
 */
import { credentialOf as loginCredential } from '../../access/login.js';
import type { AuthnResult, Credential } from '../../broker/types.js';
import type { AuthPacket } from '../codec/packets.js';
import { RC } from '../reason-codes.js';
import { ChannelState, type HandlerResult, type MqttClient } from '../state.js';
import { onAuthResult } from './connect.js';

/** Handles an AUTH packet from the client. */
export function handleAuth(ch: MqttClient, p: AuthPacket): HandlerResult {
  const m = ch.host.broker.metrics.c;
  m['packets.auth.received']++;
  if (ch.version !== 5) return ch.protocolError('AUTH is an MQTT 5 packet');
  const method = p.properties?.authenticationMethod;

  if (ch.state === ChannelState.Connecting) {
    const pending = ch.pendingConnect;
    const enhanced = ch.enhancedAuth;
    if (pending === undefined || enhanced === undefined || p.reasonCode !== RC.CONTINUE_AUTHENTICATION) {
      return ch.protocolError('unexpected AUTH during login');
    }
    if (method !== enhanced.method) return ch.protocolError('AUTH with a different authentication method');
    const r = ch.host.access.authenticate(credentialOf(ch, p, enhanced.state));
    return r instanceof Promise
      ? r.then((v) => onAuthResult(ch, pending.packet, v, pending.connack))
      : onAuthResult(ch, pending.packet, r, pending.connack);
  }

  // Connected: a re-authentication starts with 0x19 and continues with 0x18.
  if (ch.authMethod === undefined || method !== ch.authMethod) {
    return ch.protocolError('re-authentication without the CONNECT authentication method');
  }
  if (p.reasonCode === RC.REAUTHENTICATE) ch.enhancedAuth = { method, state: undefined, reauth: true };
  else if (p.reasonCode !== RC.CONTINUE_AUTHENTICATION || ch.enhancedAuth === undefined) {
    return ch.protocolError('unexpected AUTH reason code');
  }
  const r = ch.host.access.authenticate(credentialOf(ch, p, ch.enhancedAuth!.state));
  return r instanceof Promise ? r.then((v) => onReauthResult(ch, v)) : onReauthResult(ch, r);
}

function credentialOf(ch: MqttClient, p: AuthPacket, state: unknown): Credential {
  return loginCredential(
    ch.clientInfo,
    undefined,
    p.properties?.authenticationMethod,
    p.properties?.authenticationData,
    state,
  );
}

function onReauthResult(ch: MqttClient, r: AuthnResult): void {
  if (ch.state !== ChannelState.Connected) return;
  const enhanced = ch.enhancedAuth!;
  const m = ch.host.broker.metrics.c;
  switch (r.kind) {
    case 'continue':
      enhanced.state = r.state;
      ch.send({
        cmd: 'auth',
        reasonCode: RC.CONTINUE_AUTHENTICATION,
        properties: { authenticationMethod: enhanced.method, authenticationData: r.auth_data },
      });
      m['packets.auth.sent']++;
      return;
    case 'ok':
      ch.enhancedAuth = undefined;
      ch.send({
        cmd: 'auth',
        reasonCode: RC.SUCCESS,
        properties: { authenticationMethod: enhanced.method, authenticationData: r.auth_data },
      });
      m['packets.auth.sent']++;
      ch.armAuthExpiry(r.expire_at);
      return;
    case 'ignore':
      ch.enhancedAuth = undefined;
      ch.disconnect(RC.BAD_AUTHENTICATION_METHOD, 'bad_authentication_method');
      return;
    case 'error':
      ch.enhancedAuth = undefined;
      ch.disconnect(RC.NOT_AUTHORIZED, 'not_authorized', r.message);
  }
}
