import type net from 'node:net';
import { acceptWithSharedBuffer, adoptWithSharedBuffer } from './shared-read-buffer.js';
import { kReceive, onSharedRead, SocketConnection } from './stream-connection.js';
import { type Inflight, StreamListener } from './stream-listener.js';

/** Plain MQTT over TCP. */
export class TcpListener extends StreamListener {
  protected async prepare(): Promise<void> {}

  protected async shutdown(): Promise<void> {}

  protected override acceptDirectly(server: net.Server): void {
    const { nodelay, keepalive } = this.options.tcp;
    acceptWithSharedBuffer(server, { noDelay: nodelay, keepAlive: keepalive }, onSharedRead, (sock) => {
      const peer = this.admitDirect(sock);
      if (peer !== undefined) this.register(new SocketConnection(sock, this.config, peer, undefined, true));
    });
  }

  protected accept(entry: Inflight): void {
    const adopted = adoptWithSharedBuffer(entry.raw, onSharedRead);
    if (adopted === undefined) {
      this.handOver(entry, new SocketConnection(entry.raw, this.config, entry.peer));
      return;
    }
    const conn = new SocketConnection(adopted.sock, this.config, entry.peer, undefined, true);
    // Already read by the accepted socket before the switch; the connection holds them until its handler is set.
    for (const chunk of adopted.early) conn[kReceive](chunk);
    this.handOver(entry, conn);
  }
}
