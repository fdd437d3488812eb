/** Training stopped on bad numbers; the CLI prints the message without a stack trace. */
export class TrainingDivergedError extends Error {
  override readonly name = "TrainingDivergedError";
  constructor(
    readonly step: number,
    /** The first layer whose output went non-finite, when the diagnostic pass found one. */
    readonly layerPath: string | null,
    message: string,
  ) {
    super(message);
  }
}
