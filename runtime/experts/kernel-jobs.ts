/**
 * One thread's share of a split expert kernel, as a plain message: the pool
 * (kernel-pool.ts) posts these to its workers, and the calling thread runs its
 * own share through the same `runKernelJob`. Arrays are views of the share's
 * rows (token rows, query rows or update visits) into SharedArrayBuffers;
 * tables are whole. The activation travels by name (functions cannot be
 * posted). Imports nothing that needs tfjs: the workers load this module.
 */
import type { Activation } from "../../ir/types.js";
import type { SparseStepConfig } from "../layers/layer.js";
import { scalarActivation } from "./activations.js";
import { peerForwardLoop, peerGluForwardLoop, pkmForwardLoop } from "./fused-loops.js";
import { keyScoresForward, keyScoresKeyBackward, keyScoresQueryBackward, type ScoreLoopShape } from "./key-score-loops.js";
import { lazyAdamwRows, type LazyAdamwState } from "./lazy-adamw.js";
import { productKeyTopkInto, type TopkJob } from "./product-keys.js";
import { addRowGradients, peerGluTokenBackwardLoop, peerTokenBackwardLoop, pkmTokenBackwardLoop, type RowGradientPart } from "./split-backward.js";

/** PEER (G null) or GLU forward over `tokens` rows; writes out and pre (and preGate). */
export interface PeerForwardJob {
  readonly kind: "peerForward";
  readonly act: Activation;
  readonly U: Float32Array;
  readonly V: Float32Array;
  readonly G: Float32Array | null;
  readonly x: Float32Array;
  readonly gates: Float32Array;
  readonly ids: Int32Array;
  readonly pre: Float32Array;
  readonly preGate: Float32Array | null;
  readonly out: Float32Array;
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
}

export interface PkmForwardJob {
  readonly kind: "pkmForward";
  readonly V: Float32Array;
  readonly gates: Float32Array;
  readonly ids: Int32Array;
  readonly out: Float32Array;
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
}

/** Pass 1 of the split backward (split-backward.ts) over `tokens` rows. */
export interface PeerTokenBackwardJob extends Omit<PeerForwardJob, "kind" | "out"> {
  readonly kind: "peerTokenBackward";
  readonly dy: Float32Array;
  readonly dx: Float32Array;
  readonly dGates: Float32Array;
  readonly coefV: Float64Array;
  readonly coefU: Float64Array;
  readonly coefG: Float64Array | null;
}

export interface PkmTokenBackwardJob {
  readonly kind: "pkmTokenBackward";
  readonly V: Float32Array;
  readonly ids: Int32Array;
  readonly dy: Float32Array;
  readonly dGates: Float32Array;
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
}

/** Pass 2: every table's row gradients whose slot offset lies in [lo, hi), over all tokens. */
export interface RowGradientsJob {
  readonly kind: "rowGradients";
  readonly parts: readonly RowGradientPart[];
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
  readonly lo: number;
  readonly hi: number;
}

/** Lazy AdamW over visits from … count−1. */
export interface AdamwJob {
  readonly kind: "adamw";
  readonly state: LazyAdamwState;
  readonly touched: Int32Array;
  readonly grad: Float32Array;
  readonly order: Int32Array | null;
  readonly from: number;
  readonly count: number;
  readonly config: SparseStepConfig;
  readonly gradScale: number;
  readonly clearGrad: boolean;
}

/** The selected scores from the keys (key-score-loops.ts) over `shape.rows` query rows. */
export interface KeyScoresForwardJob {
  readonly kind: "keyScoresForward";
  readonly qs: Float32Array;
  readonly keyRows: readonly Float32Array[];
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly out: Float32Array;
  readonly shape: ScoreLoopShape;
}

export interface KeyScoresQueryBackwardJob {
  readonly kind: "keyScoresQueryBackward";
  readonly keyRows: readonly Float32Array[];
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly dy: Float32Array;
  readonly dq: Float32Array;
  readonly shape: ScoreLoopShape;
}

/** The sub-key gradients of sub-key indices [lo, hi), over all query rows. */
export interface KeyScoresKeyBackwardJob {
  readonly kind: "keyScoresKeyBackward";
  readonly qs: Float32Array;
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly dy: Float32Array;
  readonly dKeyRows: readonly Float32Array[];
  readonly shape: ScoreLoopShape;
  readonly lo: number;
  readonly hi: number;
}

export type KernelJob =
  | PeerForwardJob | PkmForwardJob | PeerTokenBackwardJob | PkmTokenBackwardJob | RowGradientsJob | TopkJob | AdamwJob
  | KeyScoresForwardJob | KeyScoresQueryBackwardJob | KeyScoresKeyBackwardJob;

export function runKernelJob(job: KernelJob): void {
  switch (job.kind) {
    case "peerForward": {
      const sigma = scalarActivation(job.act);
      if (job.G !== null && job.preGate !== null) peerGluForwardLoop({ ...job, G: job.G, preGate: job.preGate, sigma }, job.out);
      else peerForwardLoop({ ...job, sigma }, job.out);
      return;
    }
    case "pkmForward":
      pkmForwardLoop(job.V, job.gates, job.ids, job.out, job.tokens, job.slots, job.d);
      return;
    case "peerTokenBackward": {
      const sigma = scalarActivation(job.act);
      if (job.G !== null && job.preGate !== null && job.coefG !== null) {
        peerGluTokenBackwardLoop({ ...job, G: job.G, preGate: job.preGate, coefG: job.coefG, sigma });
      } else {
        peerTokenBackwardLoop({ ...job, sigma });
      }
      return;
    }
    case "pkmTokenBackward":
      pkmTokenBackwardLoop(job.V, job.ids, job.dy, job.dGates, job.tokens, job.slots, job.d);
      return;
    case "rowGradients":
      for (const part of job.parts) addRowGradients(part, job.tokens, job.slots, job.d, job.lo, job.hi);
      return;
    case "topk":
      productKeyTopkInto(job.scores1, job.scores2, job.rows, job.subKeys, job.subTopk, job.topk, job.out);
      return;
    case "keyScoresForward":
      keyScoresForward(job.qs, job.keyRows, job.first, job.second, job.out, job.shape);
      return;
    case "keyScoresQueryBackward":
      keyScoresQueryBackward(job.keyRows, job.first, job.second, job.dy, job.dq, job.shape);
      return;
    case "keyScoresKeyBackward":
      keyScoresKeyBackward(job.qs, job.first, job.second, job.dy, job.dKeyRows, job.shape, job.lo, job.hi);
      return;
    case "adamw":
      lazyAdamwRows(job.state, job.touched, job.count, job.grad, job.config, {
        gradScale: job.gradScale, clearGrad: job.clearGrad, order: job.order, from: job.from,
      });
      return;
  }
}
