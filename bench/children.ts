/**
 * Small helpers the scenario scripts share: line-wise child output, a free loopback port, whether a loopback
 * port accepts connections yet.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Calls `onLine` with every line the child writes to stdout; resolves when the child exits. */
export function childLines(child: ChildProcess, onLine: (line: string) => void): Promise<void> {
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      onLine(out.slice(0, i));
      out = out.slice(i + 1);
    }
  });
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether something listens on 127.0.0.1:`port` (a started server is up once it does). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
