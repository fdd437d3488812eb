import { UserError } from "../../diagnostics/errors.js";

/**
 * A checkpoint that cannot be used: corrupt, truncated, missing, or written for
 * another spec. Printed as `path: message`, where path is the file or folder at fault.
 */
export class CheckpointError extends UserError {
  declare readonly path: string;
  constructor(path: string, message: string) {
    super(message, path);
  }
}

/** A readable checkpoint written for another spec: not corrupt, so a resume does not fall back past it. */
export class SpecMismatchError extends CheckpointError {}
