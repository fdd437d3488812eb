/**
 * A checkpoint that cannot be used: corrupt, truncated, missing, or written for
 * another spec. The CLI prints `path: message` without a stack trace.
 */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    /** The file or folder at fault. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }

  describe(): string {
    return `${this.path}: ${this.message}`;
  }
}
