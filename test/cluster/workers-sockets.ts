/**
 * Which process holds which socket, read from /proc (Linux): tells, from outside, which `--workers` worker
 * accepted a connection or bound a UDP port, without asking the broker.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

interface SocketRow {
  localPort: number;
  remotePort: number;
  /** /proc/net state: 01 established, 0A listen, 07 unbound/unconnected UDP. */
  state: string;
  inode: string;
}

function rows(proto: 'tcp' | 'udp'): SocketRow[] {
  const out: SocketRow[] = [];
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (addr: string) => Number.parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
      out.push({ localPort: port(f[1]!), remotePort: port(f[2]!), state: f[3]!, inode: f[9]! });
    }
  }
  return out;
}

/** The socket inodes each of `pids` holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Of `pids`, the ones holding the server side of an established TCP connection on `port` from `clientPort`. */
export function tcpServerOwners(port: number, clientPort: number, pids: number[]): number[] {
  const inodes = rows('tcp')
    .filter((r) => r.localPort === port && r.remotePort === clientPort && r.state === '01')
    .map((r) => r.inode);
  return pids.filter((pid) => {
    const held = socketInodes(pid);
    return inodes.some((i) => held.has(i));
  });
}

/** Of `pids`, the ones holding a UDP socket bound to `port`. */
export function udpOwners(port: number, pids: number[]): number[] {
  const inodes = rows('udp')
    .filter((r) => r.localPort === port)
    .map((r) => r.inode);
  return pids.filter((pid) => {
    const held = socketInodes(pid);
    return inodes.some((i) => held.has(i));
  });
}
