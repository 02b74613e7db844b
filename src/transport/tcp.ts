import type net from 'node:net';
import { HandleConnection, handleTransport, type TcpHandle } from './handle-connection.js';
import { type AcceptedHandle, acceptWithSharedBuffer, adoptWithSharedBuffer } from './shared-read-buffer.js';
import { kReceive, onSharedRead, SocketConnection } from './stream-connection.js';
import { type Inflight, StreamListener } from './stream-listener.js';

/** Plain MQTT over TCP. */
export class TcpListener extends StreamListener {
  protected async prepare(): Promise<void> {}

  protected async shutdown(): Promise<void> {}

  protected override acceptDirectly(server: net.Server): void {
    const { nodelay, keepalive } = this.options.tcp;
    const opts = { noDelay: nodelay, keepAlive: keepalive };
    // Each accepted handle becomes a HandleConnection (no net.Socket; handle-connection.ts has the
    // measurement); a Node whose handles lack what it drives gets a socket reading into the shared buffer.
    const handles: AcceptedHandle = {
      accepts: handleTransport,
      take: (handle) => {
        const h = handle as TcpHandle;
        const peer = this.admitHandle(h);
        if (peer !== undefined) this.register(new HandleConnection(h, this.config, peer, opts));
      },
    };
    acceptWithSharedBuffer(
      server,
      opts,
      onSharedRead,
      (sock) => {
        const peer = this.admitDirect(sock);
        if (peer !== undefined) this.register(new SocketConnection(sock, this.config, peer, undefined, true));
      },
      handles,
    );
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
