/**
 * One optimizer step = `microBatches` forward/backward passes whose gradients
 * are summed and averaged, a global-norm clip over dense and sparse gradients,
 * then AdamW at the scheduled learning rate. Data comes from an injected
 * source, so the loop is testable without files; checkpoints and metrics are
 * the caller's (see main.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { IROptimizer, IRSchedule } from "../../ir/types.js";
import type { RoutingRecord } from "../layers/layer.js";
import { crossEntropyLoss, type LanguageModel } from "../model/model.js";
import { AdamW } from "./adamw.js";
import { clipFactor, gradSquaredSum, scaleGradients, tableGradSquaredSum } from "./clip.js";
import { TrainingDivergedError } from "./errors.js";
import { recalibrateQueryStatistics } from "./recalibrate.js";
import { learningRate } from "./schedule.js";

/** Token windows, flattened row-major [rows · context] (runtime/data's Batch has this shape). */
export interface TrainBatch {
  readonly rows: number;
  readonly context: number;
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
}

export interface BatchSource {
  next(): TrainBatch;
}

export interface TrainerConfig {
  readonly optimizer: IROptimizer;
  readonly schedule: IRSchedule;
  /** Planned optimizer steps (the schedule's horizon). */
  readonly totalSteps: number;
  /** Forward/backward passes accumulated per optimizer step (≥ 1). */
  readonly microBatches: number;
}

export interface StepStats {
  /** Optimizer steps completed, including this one (1-based). */
  readonly step: number;
  /** Mean training loss over the micro-batches (cross entropy + auxiliary). */
  readonly loss: number;
  readonly crossEntropy: number;
  readonly auxLoss: number;
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly tokens: number;
  readonly seconds: number;
}

type Accumulated = { grads: Map<string, tf.Tensor>; loss: number; crossEntropy: number; auxLoss: number; tokens: number; lastIds: tf.Tensor2D };

/**
 * A computation that yields every scalar tensor it reads on the host and gets
 * its value back: one body for the synchronous driver (dataSync: wasm, cpu,
 * tensorflow) and the asynchronous one (await data(): webgpu).
 */
type Reads<T> = Generator<tf.Tensor, T, number>;

function readSync<T>(computation: Reads<T>): T {
  let next = computation.next(0);
  while (!next.done) {
    let value: number;
    try {
      value = next.value.dataSync()[0]!;
    } catch (error) {
      next = computation.throw(error);
      continue;
    }
    next = computation.next(value);
  }
  return next.value;
}

async function readAsync<T>(computation: Reads<T>): Promise<T> {
  let next = computation.next(0);
  while (!next.done) {
    let value: number;
    try {
      value = (await next.value.data())[0]!;
    } catch (error) {
      next = computation.throw(error);
      continue;
    }
    next = computation.next(value);
  }
  return next.value;
}

export class Trainer {
  readonly optimizer: AdamW;
  private readonly nameOf = new Map<string, string>();

  constructor(
    readonly model: LanguageModel,
    readonly config: TrainerConfig,
    private readonly data: BatchSource,
  ) {
    if (!(config.microBatches >= 1)) throw new Error(`microBatches must be at least 1, got ${config.microBatches}`);
    const { beta1, beta2, eps, weightDecay, decayAll } = config.optimizer;
    this.optimizer = new AdamW(model.variables, model.sparseTables, { beta1, beta2, eps, weightDecay, decayAll });
    for (const v of model.variables) this.nameOf.set(v.variable.name, v.name);
  }

  /** Optimizer steps completed so far. */
  get stepCount(): number {
    return this.optimizer.step;
  }

  /** The learning rate the next step will use, and the sparse tables' one. */
  currentLearningRates(): { lr: number; tableLr: number } {
    const { optimizer, schedule, totalSteps } = this.config;
    const lr = learningRate(this.optimizer.step, totalSteps, optimizer.lr, schedule);
    return { lr, tableLr: optimizer.expertLr ?? lr };
  }

  /**
   * Runs the micro-batches of one step and returns their averaged gradients
   * (by NamedVariable.name; the caller disposes them). Sparse tables accumulate
   * their own row gradients. Throws TrainingDivergedError on a non-finite loss.
   */
  accumulateGradients(): Accumulated {
    return readSync(this.accumulateReads());
  }

  /** accumulateGradients as a computation that yields each scalar it reads (see Reads). */
  private *accumulateReads(): Reads<Accumulated> {
    const stepNumber = this.optimizer.step + 1;
    const n = this.config.microBatches;
    const grads = new Map<string, tf.Tensor>();
    const varList = this.model.variables.map((v) => v.variable);
    let loss = 0;
    let crossEntropy = 0;
    let auxLoss = 0;
    let tokens = 0;
    let lastIds: tf.Tensor2D | null = null;
    try {
      for (let i = 0; i < n; i++) {
        const batch = this.data.next();
        tokens += batch.rows * batch.context;
        const ids = tf.tensor2d(batch.inputs, [batch.rows, batch.context], "int32");
        const targets = tf.tensor2d(batch.targets, [batch.rows, batch.context], "int32");
        lastIds?.dispose();
        lastIds = ids;
        let parts: { ce: tf.Scalar; aux: tf.Scalar | null } | null = null;
        const result = tf.variableGrads(() => {
          const r = this.model.loss(ids, targets, "train");
          parts = { ce: tf.keep(r.crossEntropy), aux: r.auxLoss ? tf.keep(r.auxLoss) : null };
          return r.loss;
        }, varList);
        targets.dispose();
        const kept = parts as { ce: tf.Scalar; aux: tf.Scalar | null } | null;
        const value: number = yield result.value;
        const ceValue: number = kept ? yield kept.ce : value;
        const auxValue: number = kept?.aux ? yield kept.aux : 0;
        kept?.ce.dispose();
        kept?.aux?.dispose();
        result.value.dispose();
        for (const [internal, g] of Object.entries(result.grads)) {
          const name = this.nameOf.get(internal) ?? internal;
          const previous = grads.get(name);
          if (previous) {
            grads.set(name, tf.add(previous, g));
            previous.dispose();
            g.dispose();
          } else grads.set(name, g);
        }
        if (!Number.isFinite(value)) throw this.diverged(stepNumber, ids, `loss is ${value}`);
        loss += value / n;
        crossEntropy += ceValue / n;
        auxLoss += auxValue / n;
      }
      if (n > 1) scaleGradients(grads, this.model.sparseTables, 1 / n);
      return { grads, loss, crossEntropy, auxLoss, tokens, lastIds: lastIds! };
    } catch (error) {
      for (const g of grads.values()) g.dispose();
      lastIds?.dispose();
      for (const t of this.model.sparseTables) t.zeroGrads();
      throw error;
    }
  }

  step(): StepStats {
    return readSync(this.stepReads());
  }

  /**
   * step() for backends that can only read asynchronously (webgpu in Node,
   * whose dataSync needs OffscreenCanvas): the same computation, each host read
   * awaited. Reads per step: loss, cross entropy (and aux loss) per micro-batch,
   * and the gradient norm.
   */
  stepAsync(): Promise<StepStats> {
    return readAsync(this.stepReads());
  }

  private *stepReads(): Reads<StepStats> {
    const started = performance.now();
    const { lr, tableLr } = this.currentLearningRates();
    const stepNumber = this.optimizer.step + 1;
    const tables = this.model.sparseTables;
    const { grads, loss, crossEntropy, auxLoss, tokens, lastIds } = yield* this.accumulateReads();
    try {
      const dense = gradSquaredSum(grads.values());
      let denseValue = 0;
      try {
        denseValue = dense === null ? 0 : yield dense;
      } finally {
        dense?.dispose();
      }
      const gradNorm = Math.sqrt(denseValue + tableGradSquaredSum(tables));
      if (!Number.isFinite(gradNorm)) throw this.diverged(stepNumber, lastIds, `gradient norm is ${gradNorm}`);
      scaleGradients(grads, tables, clipFactor(gradNorm, this.config.optimizer.clip));
      this.optimizer.apply(grads, lr, tableLr);
      return { step: stepNumber, loss, crossEntropy, auxLoss, lr, gradNorm, tokens, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      for (const t of tables) t.zeroGrads();
      throw error;
    } finally {
      for (const g of grads.values()) g.dispose();
      lastIds.dispose();
    }
  }

  /**
   * Before an evaluation (`bn_recalibrate`): the query BatchNorm running
   * statistics become the mean over `batches` of train-mode statistics (no
   * gradient, no step; recalibrate.ts). Returns the passes run.
   */
  recalibrateStatistics(batches: readonly TrainBatch[]): number {
    return recalibrateQueryStatistics(this.model, batches);
  }

  /** Mean cross entropy (nats/token) over the given batches, in eval mode; `recordRouting` sees every routing decision. */
  evaluate(batches: Iterable<TrainBatch>, recordRouting?: (record: RoutingRecord) => void): { crossEntropy: number; tokens: number } {
    return readSync(this.evaluateReads(batches, recordRouting));
  }

  /** evaluate() with awaited reads (see stepAsync). */
  evaluateAsync(batches: Iterable<TrainBatch>, recordRouting?: (record: RoutingRecord) => void): Promise<{ crossEntropy: number; tokens: number }> {
    return readAsync(this.evaluateReads(batches, recordRouting));
  }

  private *evaluateReads(batches: Iterable<TrainBatch>, recordRouting?: (record: RoutingRecord) => void): Reads<{ crossEntropy: number; tokens: number }> {
    let sum = 0;
    let tokens = 0;
    for (const batch of batches) {
      const n = batch.rows * batch.context;
      const loss = tf.tidy(() => {
        const ids = tf.tensor2d(batch.inputs, [batch.rows, batch.context], "int32");
        const { logits } = this.model.forward(ids, "eval", recordRouting);
        return crossEntropyLoss(logits, tf.tensor1d(batch.targets, "int32"));
      });
      let value: number;
      try {
        value = yield loss;
      } finally {
        loss.dispose();
      }
      sum += value * n;
      tokens += n;
    }
    return { crossEntropy: tokens > 0 ? sum / tokens : Number.NaN, tokens };
  }

  /** What to change, true to this run's settings (the caller adds what it knows about checkpoints). */
  private divergenceAdvice(): string {
    const { lr, clip } = this.config.optimizer;
    return clip === null || !(clip > 0)
      ? `Lower the learning rate (${lr}) or enable gradient clipping (adamw(…, clip: 1.0)).`
      : `Gradient clipping is on (global norm ${clip}), so lower the learning rate (${lr}).`;
  }

  private diverged(step: number, ids: tf.Tensor2D, what: string): TrainingDivergedError {
    const culprit = this.model.diagnoseNonFinite(ids);
    const where = culprit
      ? `the first non-finite output comes from layer ${culprit.path} (${culprit.kind})`
      : "every layer's output is finite in a diagnostic forward pass, so the loss or its gradient overflowed";
    return new TrainingDivergedError(
      step,
      culprit?.path ?? null,
      `training diverged at step ${step}: ${what}; ${where}. ${this.divergenceAdvice()}`,
    );
  }
}
