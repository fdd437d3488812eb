/** Host pieces shared by the product-key kinds (pkm, peer): build options and the expert tables of a manifest. */
import { weightName, type WeightSpec } from "../manifest.js";
import type { ScoreGradient } from "../../runtime/experts/router.js";
import { fillNormal } from "../../runtime/experts/init.js";
import { streamSeed } from "../../runtime/model/init.js";
import { ExpertTable, type MomentPrecision } from "../../runtime/experts/sparse-table.js";

export interface ExpertLayerInit {
  /** Uniform [0, 1), seeded. */
  readonly rng: () => number;
  readonly dModel: number;
  /** How selected scores are differentiated (router.ts); default "keys". */
  readonly scoreGradient?: ScoreGradient;
  /**
   * PEER expert math: "fused" (default) reads rows straight from the tables in
   * JS; "gathered" copies them into [T·h·k, d] tensors and uses tfjs ops (SIMD).
   * Since the fused loops were blocked four expert rows at a time, fused is
   * ~1.7× faster at N = 64² (docs/experts.md, "Host-side kernel speed"), and
   * the gathered tensors cost ~1.4 GiB of wasm heap at T = 2048, h·k = 64, d = 256.
   */
  readonly expertPath?: "fused" | "gathered";
  /** Storage of the tables' Adam moments (the train section's `expert_moments`); default ExpertTable's. */
  readonly moments?: MomentPrecision;
}

/**
 * The `expert_table` entries of a manifest as ExpertTables, in manifest order
 * (each `layer_normal` init draws from `rng` in that order), by relative name.
 */
export function createExpertTables(path: string, manifest: readonly WeightSpec[], rng: () => number, moments?: MomentPrecision): Map<string, ExpertTable> {
  const tables = new Map<string, ExpertTable>();
  for (const spec of manifest) {
    if (spec.role !== "expert_table") continue;
    const [rows, cols] = spec.shape as [number, number];
    const init = spec.init;
    if (init.kind !== "layer_normal") throw new Error(`internal error: ${weightName(path, spec)}: expert tables start from a layer-stream normal, not ${init.kind}`);
    const name = weightName(path, spec);
    // Each table its own stochastic-rounding stream (bf16 moments), from its name: no draw from `rng`, so weights are unchanged.
    tables.set(spec.name, new ExpertTable(name, rows, cols, (t) => fillNormal(t, init.std, rng), { moments, seed: streamSeed(1, name) }));
  }
  return tables;
}

/** A table the manifest must have. */
export function requireTable(tables: ReadonlyMap<string, ExpertTable>, path: string, name: string): ExpertTable {
  const table = tables.get(name);
  if (!table) throw new Error(`internal error: ${path} has no expert table '${name}' in its manifest`);
  return table;
}
