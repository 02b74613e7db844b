/**
 * Plugin packages shared by the cluster: the NAME-VSN.tar.gz uploaded on one node goes into the JetStream
 * Object Store bucket `hm_<cluster>_plugins`, and the config log entry that installs it carries its SHA-256,
 * so every other node fetches exactly the bytes the first node checked and installed.
 */
import { createHash } from 'node:crypto';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { ClusterBus } from './bus.js';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class PluginPackages {
  private store: Promise<ObjectStore> | undefined;

  constructor(private readonly bus: ClusterBus) {}

  /** Stores a package; resolves with its SHA-256 (hex). */
  async put(nameVsn: string, data: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(data);
    const store = await this.open();
    await store.putBlob({ name: objectName(nameVsn), description: sha256 }, data);
    return sha256;
  }

  /** Fetches a package and checks it is the one the log entry names. */
  async get(nameVsn: string, sha256: string): Promise<Buffer> {
    const store = await this.open();
    const data = await store.getBlob(objectName(nameVsn));
    if (data === null) throw new Error(`plugin package ${nameVsn} is not in ${this.bus.bucket('plugins')}`);
    const got = sha256Hex(data);
    if (got !== sha256)
      throw new Error(`plugin package ${nameVsn} has sha256 ${got}, the config log expects ${sha256}`);
    return Buffer.from(data);
  }

  private open(): Promise<ObjectStore> {
    if (this.store === undefined) {
      const opened = new Objm(this.bus.js).create(this.bus.bucket('plugins'), {
        replicas: this.bus.config.nats.replicas,
      });
      // A failed open must not stick: the next call tries again.
      opened.catch(() => {
        if (this.store === opened) this.store = undefined;
      });
      this.store = opened;
    }
    return this.store;
  }
}

function objectName(nameVsn: string): string {
  return `${nameVsn}.tar.gz`;
}
