/** Exit codes of every peerc command: 0 clean, 1 problems in the specs, 2 usage or internal error. */
export const EXIT_OK = 0;
export const EXIT_SPEC_ERRORS = 1;
export const EXIT_USAGE = 2;

/** A mistake in how peerc was called (unknown flag, missing file): printed as one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "UsageError";
  }
}
