/**
 * A problem with the user's training data. The CLI prints `path: message`
 * without a stack trace, so the message must say what is wrong and, where it
 * helps, the sizes involved.
 */
export class DataError extends Error {
  override readonly name = "DataError";
  constructor(
    /** The file (or folder) at fault; "<built-in corpus>" for the generated one. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }

  /** The one-line form the CLI prints. */
  describe(): string {
    return `${this.path}: ${this.message}`;
  }
}
