import tls from 'node:tls';
import type { TlsOptions } from './listener.js';
import { SocketConnection } from './stream-connection.js';
import { type Inflight, StreamListener } from './stream-listener.js';
import { loadTlsServerOptions, peerCertificateOf } from './tls-context.js';

/**
 * MQTT over TLS. The TLS server never listens itself: our TCP server admits a socket first (limits,
 * PROXY header), then passes it in, so a refused or held client costs no handshake.
 */
export class TlsListener extends StreamListener {
  private tlsServer: tls.Server | undefined;

  protected async prepare(): Promise<void> {
    const opts = this.tlsOptions();
    const server = tls.createServer(await loadTlsServerOptions(opts));
    server.on('secureConnection', (sock: tls.TLSSocket) => {
      const entry = this.secured(sock, opts);
      if (entry === undefined) return;
      this.handOver(entry, new SocketConnection(sock, this.config, entry.peer, peerCertificateOf(sock)));
    });
    server.on('tlsClientError', (err, sock) => this.handshakeFailed(err, sock));
    this.tlsServer = server;
  }

  protected async shutdown(): Promise<void> {
    this.tlsServer = undefined;
  }

  protected accept(entry: Inflight): void {
    const server = this.tlsServer;
    if (server === undefined) {
      entry.raw.destroy();
      return;
    }
    this.expectWrapped(entry);
    server.emit('connection', entry.raw);
  }

  protected override abandoned(entry: Inflight): void {
    if (entry.key !== undefined) this.refuse('tls_handshake', entry.peer.peerhost, 'closed during handshake');
  }

  private tlsOptions(): TlsOptions {
    const opts = this.options.tls;
    if (opts === undefined) throw new Error(`listener ${this.id}: type ssl needs tls options`);
    return opts;
  }
}
