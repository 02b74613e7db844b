import net from 'node:net';

/** The original connection a PROXY header describes. */
export interface ProxyAddress {
  srcHost: string;
  srcPort: number;
  dstHost: string;
  dstPort: number;
}

/** Outcome of looking at the first bytes of a connection for a PROXY v1/v2 header. */
export type ProxyParse =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string }
  /** `address` is undefined for v1 UNKNOWN, v2 LOCAL and non-IP families: keep the socket's own. */
  | { status: 'done'; length: number; address: ProxyAddress | undefined };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const INCOMPLETE: ProxyParse = { status: 'incomplete' };

/** Parses a PROXY protocol header (v1 text or v2 binary) at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] === V1_PREFIX[0]) return parseV1(buf);
  if (buf[0] === V2_SIGNATURE[0]) return parseV2(buf);
  return invalid('no PROXY protocol header');
}

/**
 * Reads a PROXY header off a fresh socket, then pauses it with any bytes after the header unshifted,
 * ready for whoever takes the socket next. `done` is called exactly once.
 */
export function readProxyHeader(
  sock: net.Socket,
  timeoutMs: number,
  done: (error: Error | undefined, address: ProxyAddress | undefined) => void,
): void {
  let buf: Buffer | undefined;
  let finished = false;
  const finish = (error: Error | undefined, address?: ProxyAddress, rest?: Buffer): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.off('data', onData);
    sock.off('close', onClose);
    if (error === undefined) {
      sock.pause();
      if (rest !== undefined && rest.length > 0) sock.unshift(rest);
    }
    done(error, address);
  };
  const onData = (chunk: Buffer): void => {
    buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
    const parsed = parseProxyHeader(buf);
    if (parsed.status === 'invalid') finish(new Error(parsed.reason));
    else if (parsed.status === 'done') finish(undefined, parsed.address, buf.subarray(parsed.length));
  };
  const onClose = (): void => finish(new Error('connection closed before the PROXY header'));
  const timer = setTimeout(() => finish(new Error('PROXY header timeout')), timeoutMs);
  sock.on('data', onData);
  sock.on('close', onClose);
  sock.resume();
}

function parseV1(buf: Buffer): ProxyParse {
  if (!startsLike(buf, V1_PREFIX)) return invalid('no PROXY protocol header');
  const end = buf.subarray(0, V1_MAX).indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= V1_MAX ? invalid('PROXY v1 line too long') : INCOMPLETE;
  const parts = buf.toString('latin1', 0, end).split(' ');
  if (parts[1] === 'UNKNOWN') return { status: 'done', length: end + 2, address: undefined };
  if (parts.length !== 6) return invalid('malformed PROXY v1 line');
  const [, proto, src, dst, sport, dport] = parts;
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0;
  if (family === 0) return invalid(`unknown PROXY v1 protocol ${JSON.stringify(proto)}`);
  if (net.isIP(src) !== family || net.isIP(dst) !== family) return invalid('bad address in PROXY v1 line');
  const srcPort = parsePort(sport);
  const dstPort = parsePort(dport);
  if (srcPort < 0 || dstPort < 0) return invalid('bad port in PROXY v1 line');
  return { status: 'done', length: end + 2, address: { srcHost: src, srcPort, dstHost: dst, dstPort } };
}

function parseV2(buf: Buffer): ProxyParse {
  if (!startsLike(buf, V2_SIGNATURE)) return invalid('no PROXY protocol header');
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return invalid(`unsupported PROXY version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) return invalid(`unknown PROXY v2 command ${command}`);
  const family = buf[13] >> 4;
  const len = buf.readUInt16BE(14);
  const length = 16 + len;
  if (buf.length < length) return INCOMPLETE;
  // LOCAL: the proxy talking for itself (health checks); TLVs after the addresses are not needed here.
  if (command === 0) return { status: 'done', length, address: undefined };
  if (family === 1) {
    if (len < 12) return invalid('short PROXY v2 IPv4 block');
    const address = {
      srcHost: formatIPv4(buf, 16),
      dstHost: formatIPv4(buf, 20),
      srcPort: buf.readUInt16BE(24),
      dstPort: buf.readUInt16BE(26),
    };
    return { status: 'done', length, address };
  }
  if (family === 2) {
    if (len < 36) return invalid('short PROXY v2 IPv6 block');
    const address = {
      srcHost: formatIPv6(buf, 16),
      dstHost: formatIPv6(buf, 32),
      srcPort: buf.readUInt16BE(48),
      dstPort: buf.readUInt16BE(50),
    };
    return { status: 'done', length, address };
  }
  return { status: 'done', length, address: undefined };
}

// True while the bytes seen so far agree with `prefix` (a header may arrive a few bytes at a time).
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function parsePort(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return -1;
  const port = Number(text);
  return port <= 65535 ? port : -1;
}

function formatIPv4(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

// RFC 5952 text form; IPv4-mapped addresses come out as plain dotted IPv4.
function formatIPv6(buf: Buffer, at: number): string {
  let mapped = buf[at + 10] === 0xff && buf[at + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = buf[at + i] === 0;
  if (mapped) return formatIPv4(buf, at + 12);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function invalid(reason: string): ProxyParse {
  return { status: 'invalid', reason };
}
