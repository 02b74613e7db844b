/**
 * Components: the parts a node is made of (store, retainer, access control, listeners, gateways, the
 * management API, later plugins). The node lists them once, in start order; they stop in reverse.
 */
import { logger } from '../log.js';

/** A part of the node with a lifecycle. */
export interface Component {
  /** Shown in logs when starting or stopping fails. */
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A component from an object that has start/stop but no name of its own (a service class, two closures). */
export function named(name: string, part: Omit<Component, 'name'>): Component {
  return { name, start: () => part.start(), stop: () => part.stop() };
}

/** Starts components in list order and stops the started ones in reverse order. */
export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly components: readonly Component[]) {}

  /** Starts every component in order; on a failure, the ones already started stay up for stop(). */
  async start(): Promise<void> {
    for (const c of this.components) {
      // Counted before it finishes: a component that fails half-way still gets its stop() to clean up.
      this.started.push(c);
      await c.start();
    }
  }

  /** Stops the started components, last started first; one failing does not keep the others running. */
  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const c = this.started.pop()!;
      try {
        await c.stop();
      } catch (err) {
        logger.error({ err, component: c.name }, 'component failed to stop');
      }
    }
  }
}
