import { UserError } from "../../diagnostics/errors.js";

/**
 * A problem with the user's training data, printed as `path: message`: the
 * message says what is wrong and, where it helps, the sizes involved. The path
 * is "<built-in corpus>" for the generated one.
 */
export class DataError extends UserError {
  declare readonly path: string;
  constructor(path: string, message: string) {
    super(message, path);
  }
}
