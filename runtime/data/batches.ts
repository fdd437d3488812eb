/**
 * Batches of `[batch, context + 1]` token windows, split into inputs (the
 * first `context` tokens) and targets (the last `context`), both flattened
 * row-major to Int32Array [batch · context] — the [batch·seq] layout the model
 * takes (runtime/layers/layer.ts).
 *
 * Training windows start at uniformly random offsets inside the training
 * split, drawn by a seeded Rng; `state()` (RNG words + batches drawn) goes
 * into checkpoints so a resumed run continues the exact sequence.
 * Validation windows tile the validation split in order, deterministically.
 */
import { Rng, type RngState } from "./rng.js";
import type { TokenSource } from "./source.js";
import type { Split } from "./split.js";

export interface Batch {
  /** Rows in this batch (the last validation batch may be short). */
  readonly rows: number;
  readonly context: number;
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
}

/** Data position for checkpoints. JSON-serialisable. */
export interface DataState {
  readonly rng: RngState;
  readonly batchesDrawn: number;
}

export class BatchSampler {
  private readonly rng: Rng;
  private drawn: number;
  private readonly window: Int32Array;

  constructor(
    private readonly source: TokenSource,
    private readonly split: Split,
    readonly context: number,
    readonly batch: number,
    /** A seed for a fresh run, or the state saved by `state()` to resume. */
    start: number | DataState,
  ) {
    if (split.length < context + 1) {
      throw new RangeError(`split of ${split.length} tokens is shorter than one window of ${context + 1}`);
    }
    if (typeof start === "number") {
      this.rng = Rng.fromSeed(start);
      this.drawn = 0;
    } else {
      this.rng = Rng.fromState(start.rng);
      this.drawn = start.batchesDrawn;
    }
    this.window = new Int32Array(context + 1);
  }

  next(): Batch {
    const { context, batch } = this;
    const inputs = new Int32Array(batch * context);
    const targets = new Int32Array(batch * context);
    const offsets = this.split.length - context; // valid window starts: [0, length − context − 1]
    for (let r = 0; r < batch; r++) {
      this.source.read(this.split.start + this.rng.nextInt(offsets), this.window);
      inputs.set(this.window.subarray(0, context), r * context);
      targets.set(this.window.subarray(1), r * context);
    }
    this.drawn++;
    return { rows: batch, context, inputs, targets };
  }

  state(): DataState {
    return { rng: this.rng.state(), batchesDrawn: this.drawn };
  }
}

/**
 * Non-overlapping windows over the whole split in order (stride `context`, so
 * every token after the first is a target exactly once), `batch` rows at a
 * time; `maxBatches` stops early.
 */
export function* sequentialBatches(
  source: TokenSource,
  split: Split,
  context: number,
  batch: number,
  maxBatches = Infinity,
): Generator<Batch> {
  const windows = Math.floor((split.length - 1) / context);
  const window = new Int32Array(context + 1);
  let produced = 0;
  for (let w = 0; w < windows && produced < maxBatches; produced++) {
    const rows = Math.min(batch, windows - w);
    const inputs = new Int32Array(rows * context);
    const targets = new Int32Array(rows * context);
    for (let r = 0; r < rows; r++, w++) {
      source.read(split.start + w * context, window);
      inputs.set(window.subarray(0, context), r * context);
      targets.set(window.subarray(1), r * context);
    }
    yield { rows, context, inputs, targets };
  }
}
