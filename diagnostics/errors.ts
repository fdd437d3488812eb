/**
 * User-facing errors: a mistake in how a command was called, or in a file the
 * user handed over. Every peerc command and every emitted trainer prints these
 * as one line (`path: message`, then an optional `help:`), never with a stack
 * trace. Anything that is not a UserError is a bug and is reported as one.
 */

/** Exit codes of every peerc command: 0 clean, 1 problems in the specs, 2 usage or internal error. */
export const EXIT_OK = 0;
export const EXIT_SPEC_ERRORS = 1;
export const EXIT_USAGE = 2;

/** The base of every error whose message is meant for the user. */
export class UserError extends Error {
  constructor(
    message: string,
    /** The file or folder at fault, when there is one. */
    readonly path: string | null = null,
    /** One line on what to do about it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The one-line form printed to the terminal: `path: message`, or the message alone. */
  describe(): string {
    return this.path === null ? this.message : `${this.path}: ${this.message}`;
  }
}

/** A mistake in how a command was called (unknown flag, missing file): exit 2 from peerc. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, null, hint);
  }
}
