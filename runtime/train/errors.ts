import { UserError } from "../../diagnostics/errors.js";

/** Training stopped on bad numbers; the message says where and what to change. */
export class TrainingDivergedError extends UserError {
  constructor(
    readonly step: number,
    /** The first layer whose output went non-finite, when the diagnostic pass found one. */
    readonly layerPath: string | null,
    message: string,
  ) {
    super(message);
  }
}
