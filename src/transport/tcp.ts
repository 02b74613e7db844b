import { SocketConnection } from './stream-connection.js';
import { type Inflight, StreamListener } from './stream-listener.js';

/** Plain MQTT over TCP. */
export class TcpListener extends StreamListener {
  protected async prepare(): Promise<void> {}

  protected async shutdown(): Promise<void> {}

  protected accept(entry: Inflight): void {
    this.handOver(entry, new SocketConnection(entry.raw, this.config, entry.peer));
  }
}
