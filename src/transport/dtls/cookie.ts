/**
 * Stateless cookies for HelloVerifyRequest (RFC 6347 §4.2.1): an HMAC over the peer's address and the
 * ClientHello's fixed fields under a secret that rotates; a cookie made under the previous secret is still
 * accepted, so a rotation never fails a handshake in progress.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientHello } from './messages.js';

/** Cookie length: with it a HelloVerifyRequest (60 bytes) stays smaller than any ClientHello (≥ 67 bytes). */
export const COOKIE_LENGTH = 32;
const DEFAULT_ROTATE_MS = 5 * 60_000;

export class CookieJar {
  private secret = randomBytes(32);
  private previous: Buffer | undefined;
  private rotatedAt: number;

  constructor(
    private readonly rotateMs = DEFAULT_ROTATE_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.rotatedAt = now();
  }

  private rotateIfDue(): void {
    if (this.now() - this.rotatedAt < this.rotateMs) return;
    this.previous = this.secret;
    this.secret = randomBytes(32);
    this.rotatedAt = this.now();
  }

  private compute(secret: Buffer, peer: string, hello: ClientHello): Buffer {
    const h = createHmac('sha256', secret).update(peer).update(hello.random).update(hello.sessionId);
    const v = Buffer.allocUnsafe(2);
    v.writeUInt16BE(hello.version, 0);
    h.update(v);
    for (const s of hello.suites) {
      v.writeUInt16BE(s, 0);
      h.update(v);
    }
    return h.digest().subarray(0, COOKIE_LENGTH);
  }

  /** The cookie for this peer ("host|port") and hello. */
  make(peer: string, hello: ClientHello): Buffer {
    this.rotateIfDue();
    return this.compute(this.secret, peer, hello);
  }

  /** True if the hello carries a cookie this jar made for the same peer and fields. */
  check(peer: string, hello: ClientHello): boolean {
    this.rotateIfDue();
    if (hello.cookie.length !== COOKIE_LENGTH) return false;
    if (timingSafeEqual(hello.cookie, this.compute(this.secret, peer, hello))) return true;
    return (
      this.previous !== undefined && timingSafeEqual(hello.cookie, this.compute(this.previous, peer, hello))
    );
  }
}
