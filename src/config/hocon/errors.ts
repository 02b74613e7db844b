/** Positions and errors of the HOCON parser: every error names file, line and column. */

/** 1-based line and column. */
export interface Position {
  line: number;
  col: number;
}

/** Where a key or value was written. */
export interface Origin extends Position {
  file: string;
}

/** One problem found while reading a HOCON file. */
export interface HoconError extends Origin {
  message: string;
}

/** "file:line:col: message". */
export function formatHoconError(e: HoconError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** Thrown inside the parser; callers of the public API receive it as a HoconError value. */
export class HoconSyntaxError extends Error {
  readonly error: HoconError;

  constructor(file: string, pos: Position, message: string) {
    super(`${file}:${pos.line}:${pos.col}: ${message}`);
    this.name = 'HoconSyntaxError';
    this.error = { file, line: pos.line, col: pos.col, message };
  }
}
