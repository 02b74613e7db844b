// The ContentErrors a gateway may want to tell apart (all of them answer a command with 4.00 bad_request).
import { ContentError } from './api.js';

/** The device answered for an object no definition describes (EMQX: read of an object with no XML ⇒ 4.00). */
export class UnknownObjectError extends ContentError {
  constructor(readonly objectId: number) {
    super(`no definition for object ${objectId} (add its XML to xml_dir)`);
  }
}

/** A value of a resource the object's definition does not list, so its type is unknown. */
export class UnknownResourceError extends ContentError {
  constructor(
    readonly objectId: number,
    readonly resourceId: number,
  ) {
    super(`object ${objectId} has no resource ${resourceId} in its definition`);
  }
}
