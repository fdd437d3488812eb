/**
 * The generic language model built from an IRModel: layers in order, residual
 * ranges applied as x ← x + f(x). Deliberately plain: it is the reference the
 * emitted, specialised trainers are compared with.
 */
import * as tf from "@tensorflow/tfjs";
import type { IRLayer, LayerArchitecture, ModelArchitecture } from "../../ir/types.js";
import { weightName } from "../../kinds/manifest.js";
import { runtimeLayerWeights } from "../../kinds/runtime.js";
import type { ForwardContext, NamedVariable, RoutingRecord, RuntimeLayer, SparseTable } from "../layers/layer.js";
import { allFinite } from "../layers/ops.js";
import { createLayer } from "./factories.js";
import { createBuildContext } from "./init.js";

export type ForwardMode = "train" | "eval";

export interface ForwardResult {
  /** [B·T, vocab]. */
  readonly logits: tf.Tensor2D;
  /** Sum of the layers' auxiliary losses (MoE balancing), null when none. */
  readonly auxLoss: tf.Scalar | null;
}

export interface LossResult {
  /** crossEntropy + auxLoss: what training differentiates. */
  readonly loss: tf.Scalar;
  /** Mean next-token cross entropy in nats. */
  readonly crossEntropy: tf.Scalar;
  readonly auxLoss: tf.Scalar | null;
}

export interface LanguageModel {
  /** What the model was built from (an IRModel, or the span-free literal of an emitted trainer). */
  readonly ir: ModelArchitecture;
  readonly layers: readonly RuntimeLayer[];
  /** Every dense trainable variable, once (a tied head adds none). */
  readonly variables: readonly NamedVariable[];
  readonly sparseTables: readonly SparseTable[];
  buffers(): { readonly name: string; readonly tensor: tf.Variable }[];
  /** ids: int32 [B, T]. */
  forward(ids: tf.Tensor2D, mode: ForwardMode, recordRouting?: (record: RoutingRecord) => void): ForwardResult;
  /** ids, targets: int32 [B, T]. */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, mode: ForwardMode): LossResult;
  /** Runs a forward pass checking every layer; returns the first layer whose output is not finite, or null. */
  diagnoseNonFinite(ids: tf.Tensor2D): { readonly path: string; readonly kind: string } | null;
  /** Dense variables plus sparse tables, tied weights counted once. */
  paramCount(): number;
  dispose(): void;
}

export interface BuildOptions {
  readonly seed: number;
  readonly backend: string;
}

type Observer = (layer: RuntimeLayer, output: tf.Tensor) => void;

/** Applies layers [start, end) with the residuals nested inside; `open` are residuals already being applied. */
function runRange(
  layers: readonly RuntimeLayer[],
  residuals: ModelArchitecture["residuals"],
  start: number,
  end: number,
  x: tf.Tensor,
  ctx: ForwardContext,
  open: ReadonlySet<ModelArchitecture["residuals"][number]>,
  observe: Observer | null,
): tf.Tensor {
  let i = start;
  while (i < end) {
    // The outermost residual starting here that fits in [i, end) and is not already open.
    const residual = residuals
      .filter((r) => r.start === i && r.end <= end && !open.has(r))
      .sort((a, b) => b.end - a.end)[0];
    if (residual) {
      const inner = runRange(layers, residuals, residual.start, residual.end, x, ctx, new Set([...open, residual]), observe);
      x = tf.add(x, inner);
      i = residual.end;
    } else {
      const layer = layers[i]!;
      x = layer.apply(x, ctx);
      observe?.(layer, x);
      i++;
    }
  }
  return x;
}

function countBlocks(model: ModelArchitecture): number {
  const attention = model.layers.filter((l) => l.kind === "attention").length;
  return attention > 0 ? attention : Math.max(1, Math.floor(model.residuals.length / 2));
}

/**
 * The layer factories take IR layer types; they read no source location (spans
 * serve diagnostics only), so a span-free layer stands in for one.
 */
function withoutLocations(layer: LayerArchitecture): IRLayer {
  return layer as IRLayer;
}

export function buildModel(model: ModelArchitecture, options: BuildOptions): LanguageModel {
  const ctx = createBuildContext({ seed: options.seed, backend: options.backend, blocks: countBlocks(model), expertMoments: model.train?.optimizer.expertMoments });
  const embed = model.layers.find((l) => l.kind === "embed");
  // The embedding's table by its manifest name (kinds/embed/weights.ts), for a tied lm_head.
  const embeddingName = embed ? weightName(embed.path, runtimeLayerWeights(embed)[0]!) : null;
  const layers = model.layers.map((layer) => createLayer(withoutLocations(layer), ctx, embeddingName));
  const variables = layers.flatMap((l) => l.variables);
  const sparseTables = layers.flatMap((l) => l.sparseTables);
  const seen = new Set<string>();
  for (const v of variables) {
    if (seen.has(v.name)) throw new Error(`internal error: variable ${v.name} listed twice`);
    seen.add(v.name);
  }

  const run = (ids: tf.Tensor2D, mode: ForwardMode, recordRouting: ((r: RoutingRecord) => void) | null, observe: Observer | null): ForwardResult => {
    if (ids.dtype !== "int32" || ids.rank !== 2) throw new Error(`forward expects int32 ids [batch, seqLen], got ${ids.dtype} [${ids.shape}]`);
    const [batch, seqLen] = ids.shape;
    const auxLosses: tf.Scalar[] = [];
    const fctx: ForwardContext = { training: mode === "train", batch, seqLen, addAuxLoss: (l) => auxLosses.push(l), recordRouting };
    const out = runRange(layers, model.residuals, 0, layers.length, tf.reshape(ids, [-1]), fctx, new Set(), observe);
    const auxLoss = auxLosses.length === 0 ? null : (auxLosses.reduce((a, b) => tf.add(a, b)) as tf.Scalar);
    return { logits: out as tf.Tensor2D, auxLoss };
  };

  return {
    ir: model,
    layers,
    variables,
    sparseTables,
    buffers: () => layers.flatMap((l) => l.buffers()),
    forward: (ids, mode, recordRouting) => run(ids, mode, recordRouting ?? null, null),
    loss(ids, targets, mode) {
      const { logits, auxLoss } = run(ids, mode, null, null);
      const crossEntropy = crossEntropyLoss(logits, targets);
      return { loss: auxLoss ? (tf.add(crossEntropy, auxLoss) as tf.Scalar) : crossEntropy, crossEntropy, auxLoss };
    },
    diagnoseNonFinite(ids) {
      let first: { path: string; kind: string } | null = null;
      tf.tidy(() => {
        try {
          run(ids, "eval", null, (layer, output) => {
            if (!first && !allFinite(output)) {
              first = { path: layer.path, kind: layer.kind };
              throw new StopDiagnosis();
            }
          });
        } catch (error) {
          if (!(error instanceof StopDiagnosis)) throw error;
        }
      });
      return first;
    },
    paramCount() {
      let total = 0;
      for (const v of variables) total += v.variable.size;
      for (const t of sparseTables) total += t.rows * t.cols;
      return total;
    },
    dispose() {
      for (const v of variables) v.variable.dispose();
    },
  };
}

class StopDiagnosis extends Error {}

/** Mean −log p(target) over all B·T positions, via a flat gather of the log-probabilities (no one-hot [B·T, vocab]). */
export function crossEntropyLoss(logits: tf.Tensor2D, targets: tf.Tensor): tf.Scalar {
  const [rows, vocab] = logits.shape;
  const logProbs = tf.reshape(tf.logSoftmax(logits), [-1]);
  const flatTargets = tf.reshape(targets, [-1]);
  if (flatTargets.size !== rows) throw new Error(`targets have ${flatTargets.size} entries for ${rows} logit rows`);
  const positions = tf.add(tf.mul(tf.range(0, rows, 1, "int32"), tf.scalar(vocab, "int32")), tf.cast(flatTargets, "int32"));
  return tf.neg(tf.mean(tf.gather(logProbs, positions))) as tf.Scalar;
}
