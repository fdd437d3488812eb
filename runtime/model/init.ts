/**
 * Seeded parameter creation. Every variable draws from its own generator,
 * seeded by (model seed, variable name), so a weight depends only on the seed
 * and its name: not on build order, and the same in the generic model and the
 * emitted trainer.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../data/rng.js";
import type { ExpertMomentPrecision } from "../../ir/types.js";
import type { NamedVariable } from "../layers/layer.js";

/** Standard deviation of matrices (GPT-2 practice). */
export const INIT_STD = 0.02;

/** FNV-1a of the name mixed with the seed: a 32-bit stream seed. */
export function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h ^ Math.imul(Math.floor(seed / 0x100000000) | 0, 0x9e3779b1)) >>> 0;
}

/** `size` samples of N(0, std²) by Box–Muller from the stream of (seed, name). */
export function normalArray(seed: number, name: string, size: number, std: number): Float32Array {
  const rng = Rng.fromSeed(streamSeed(seed, name));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - rng.nextFloat(); // (0, 1]: log stays finite
    const u2 = rng.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

export type InitKind = { readonly kind: "normal"; readonly std: number } | { readonly kind: "zeros" } | { readonly kind: "ones" };

export const normal = (std: number = INIT_STD): InitKind => ({ kind: "normal", std });
export const zeros: InitKind = { kind: "zeros" };
export const ones: InitKind = { kind: "ones" };

let uniqueCounter = 0;

/**
 * What a layer factory receives. Layers of other owners (PEER, PKM) get the same
 * context: `createPeerLayer(layer, ctx)`.
 */
export interface LayerBuildContext {
  readonly seed: number;
  /** The tfjs backend name ("wasm", "cpu", "tensorflow"). */
  readonly backend: string;
  /** Number of residual blocks of the model, for the scaled output init 0.02/√(2·blocks). */
  readonly blocks: number;
  /** std of output projections into the residual stream: 0.02/√(2·blocks). */
  readonly outputStd: number;
  /** Creates (and registers) a seeded variable named "<layer path>.<part>". */
  variable(name: string, shape: readonly number[], init: InitKind, options?: { noDecay?: boolean }): NamedVariable;
  /** A variable created earlier, by name (a tied lm_head reuses the embedding). */
  find(name: string): NamedVariable | undefined;
  /** Seeded N(0, std²) values for a named host-side table (sparse expert tables). */
  normalArray(name: string, size: number, std: number): Float32Array;
  /** Storage of the expert tables' Adam moments (the train section's `expert_moments`); undefined = ExpertTable's default. */
  readonly expertMoments?: ExpertMomentPrecision;
}

export function createBuildContext(options: {
  seed: number;
  backend: string;
  blocks: number;
  expertMoments?: ExpertMomentPrecision;
}): LayerBuildContext & { readonly created: NamedVariable[] } {
  const created: NamedVariable[] = [];
  const byName = new Map<string, NamedVariable>();
  const blocks = Math.max(1, options.blocks);
  return {
    seed: options.seed,
    backend: options.backend,
    blocks,
    outputStd: INIT_STD / Math.sqrt(2 * blocks),
    created,
    variable(name, shape, init, variableOptions) {
      if (byName.has(name)) throw new Error(`internal error: variable ${name} created twice`);
      const size = shape.reduce((a, b) => a * b, 1);
      const values =
        init.kind === "normal" ? normalArray(options.seed, name, size, init.std) : new Float32Array(size).fill(init.kind === "ones" ? 1 : 0);
      // tfjs variable names are process-global; checkpoint names are ours. Keep both.
      const initial = tf.tensor(values, [...shape], "float32");
      const variable = tf.variable(initial, true, `${name}#${++uniqueCounter}`);
      initial.dispose();
      const named: NamedVariable = { name, variable, noDecay: variableOptions?.noDecay ?? false };
      created.push(named);
      byName.set(name, named);
      return named;
    },
    find: (name) => byName.get(name),
    normalArray: (name, size, std) => normalArray(options.seed, name, size, std),
    expertMoments: options.expertMoments,
  };
}
