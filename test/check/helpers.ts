import { checkFiles, checkSource, type CheckResult } from "../../compiler/check/index.js";
import type { IRLayer, IRModel } from "../../ir/types.js";

/** Checks in-memory files; the first is the entry unless `entries` says otherwise. */
export function checkMemory(files: Record<string, string>, entries = [Object.keys(files)[0]!]): CheckResult {
  return checkFiles(entries, { readFile: (p) => files[p] });
}

export function check(text: string): CheckResult {
  return checkSource("spec.peer", text, { readFile: () => undefined });
}

/** A minimal valid model around `layers` (d_model 64, vocab 256, context 64). */
export function modelWith(layers: string, opts: { pre?: string; head?: string; post?: string; dim?: number } = {}): string {
  return `${opts.pre ?? ""}
model m {
  vocab 256
  context 64
  embed tokens(dim: ${opts.dim ?? 64})
${opts.head ?? ""}${layers}
  norm rms
  lm_head tied
}
${opts.post ?? ""}`;
}

export function codes(result: CheckResult): string[] {
  return result.diagnostics.map((d) => d.code);
}

export function onlyModel(result: CheckResult): IRModel {
  if (result.program.models.length !== 1) {
    throw new Error(`expected one model, got ${result.program.models.length}: ${result.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  }
  return result.program.models[0]!;
}

export function layersOf<K extends IRLayer["kind"]>(model: IRModel, kind: K): Extract<IRLayer, { kind: K }>[] {
  return model.layers.filter((l): l is Extract<IRLayer, { kind: K }> => l.kind === kind);
}

/** The first layer of `kind` in a model built from `layers`. */
export function layer<K extends IRLayer["kind"]>(layers: string, kind: K, opts?: Parameters<typeof modelWith>[1]): Extract<IRLayer, { kind: K }> {
  return layersOf(onlyModel(check(modelWith(layers, opts))), kind)[0]!;
}
