import { adoptWithSharedBuffer } from './shared-read-buffer.js';
import { kReceive, onSharedRead, SocketConnection } from './stream-connection.js';
import { type Inflight, StreamListener } from './stream-listener.js';

/** Plain MQTT over TCP. */
export class TcpListener extends StreamListener {
  protected async prepare(): Promise<void> {}

  protected async shutdown(): Promise<void> {}

  protected accept(entry: Inflight): void {
    const adopted = adoptWithSharedBuffer(entry.raw, onSharedRead);
    if (adopted === undefined) {
      this.handOver(entry, new SocketConnection(entry.raw, this.config, entry.peer));
      return;
    }
    const conn = new SocketConnection(adopted.sock, this.config, entry.peer);
    // Already read by the accepted socket before the switch; the connection holds them until its handler is set.
    for (const chunk of adopted.early) conn[kReceive](chunk);
    this.handOver(entry, conn);
  }
}
