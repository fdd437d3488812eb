/**
 * The runtime honours the train section's `expert_moments`: the generic and
 * the emitted model (whose model.ts carries the setting) build their expert tables with bfloat16 (Uint16Array) or
 * float32 moments as the IR says, and a bf16 run trains, checkpoints its
 * moments as float32 values and resumes exactly through trainMain.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import type { IRModel } from "../../ir/types.js";
import { SafetensorsFile } from "../../runtime/checkpoint/index.js";
import type { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { emitModelTrainer } from "../../compiler/emit/index.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { emittedModel } from "../../runtime/model/emitted.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { useWasm } from "./experts-fixtures.js";

function spec(moments: string | null, ffw = "peer(experts: 8^2, heads: 2, topk: 2, key_dim: 8, act: gelu, query_norm: batch)"): IRModel {
  const text = `model m {
  vocab 256
  context 16
  embed tokens(dim: 16)
  residual { norm rms; attention(heads: 2, head_dim: 8, causal) }
  residual { norm rms; ${ffw} }
  norm rms
  lm_head tied
}
train m {
  batch 4
  steps 6
  optimizer adamw(lr: 3e-3, expert_lr: 1e-2${moments ? `, expert_moments: ${moments}` : ""})
  schedule cosine(warmup: 1, min_lr: 10%)
  data bytes(val: 10%)
  eval_every 100
  checkpoint_every 3
  log_every 1
}
`;
  const result = checkSource("m.peer", text);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return result.program.models[0]!;
}

const tablesOf = (model: { sparseTables: readonly unknown[] }) => model.sparseTables.map((t) => t as ExpertTable);

describe("expert tables follow the spec's expert_moments", () => {
  beforeAll(useWasm);

  for (const [kind, ffw] of [
    ["peer", undefined],
    ["pkm", "pkm(memories: 8^2, heads: 2, topk: 2, key_dim: 8, value_dim: 16)"],
  ] as const) {
    it(`${kind}: generic model, bf16 → Uint16Array moments, fp32 or omitted → Float32Array`, () => {
      for (const [moments, type] of [["bf16", Uint16Array], ["fp32", Float32Array], [null, Float32Array]] as const) {
        const model = buildModel(spec(moments, ffw), { seed: 1, backend: "wasm" });
        const tables = tablesOf(model);
        expect(tables.length).toBeGreaterThan(0);
        for (const t of tables) {
          expect(t.moments).toBe(moments ?? "fp32");
          expect(t.m).toBeInstanceOf(type);
          expect(t.v).toBeInstanceOf(type);
        }
        model.dispose();
      }
    });
  }

  it("the emitted model.ts carries the setting in its ARCHITECTURE (the trainer builds from it), only when bf16", () => {
    const emit = (ir: IRModel) => emitModelTrainer(ir, { specFile: path.join(os.tmpdir(), "m.peer"), outDir: path.join(os.tmpdir(), "m") }).get("model.ts")!;
    expect(emit(spec("bf16"))).toMatch(/optimizer: \{[^}]*expertMoments: "bf16",/);
    expect(emit(spec("fp32"))).not.toContain("expertMoments");
    expect(emit(spec(null))).toBe(emit(spec("fp32")));
  });

  it("the emitted model (built through emittedModel) has the same tables", () => {
    const ir = spec("bf16");
    const generic = buildModel(ir, { seed: 1, backend: "wasm" });
    const count = generic.variables.length + generic.buffers().length + generic.sparseTables.length;
    generic.dispose();
    const emitted = emittedModel(ir, { seed: 1, backend: "wasm" }, count, () => {
      throw new Error("forward not needed here");
    });
    for (const t of tablesOf(emitted)) expect(t.m).toBeInstanceOf(Uint16Array);
    emitted.dispose();
  });
});

describe("trainMain with bf16 expert moments", () => {
  beforeAll(useWasm);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-bf16-"));
  const corpus = path.join(dir, "corpus.txt");
  fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(200));
  const ir = spec("bf16");
  const target = { ir, build: (o: { seed: number; backend: string }) => buildModel(ir, o) };
  const quiet = { out: () => undefined, err: () => undefined };
  const losses = (out: string) => readMetrics(path.join(out, "metrics.jsonl")).filter((m) => m.loss !== undefined).map((m) => m.loss);
  const args = (out: string, ...more: string[]) => ["--data", corpus, "--backend", "wasm", "--out", out, ...more];

  it("checkpoints the bf16 moments as their float32 values", async () => {
    const whole = path.join(dir, "whole");
    expect(await trainMain(args(whole), target, quiet)).toBe(0);
    const file = SafetensorsFile.open(path.join(whole, "step-000006", "optimizer.safetensors"));
    const probe = buildModel(ir, { seed: 1, backend: "wasm" });
    const tableName = probe.sparseTables[0]!.name;
    probe.dispose();
    const name = file.names().find((n) => n === `${tableName}.adam_v`);
    expect(name).toBeDefined();
    expect(file.info(name!).dtype).toBe("F32");
    const values = file.read(name!) as Float32Array;
    file.close();
    expect(values).toBeInstanceOf(Float32Array);
    expect(values.some((x) => x > 0)).toBe(true);
    // Every value is a bfloat16 (its low 16 bits are zero): what the table held, not a float32 moment.
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    expect(bits.every((b) => (b & 0xffff) === 0)).toBe(true);

    tf.disposeVariables();
  });

  it("a run interrupted at its step-3 checkpoint and resumed continues exactly as the uninterrupted one", async () => {
    const whole = path.join(dir, "whole-2");
    expect(await trainMain(args(whole), target, quiet)).toBe(0);
    const cut = path.join(dir, "cut");
    expect(await trainMain(args(cut), target, quiet)).toBe(0);
    fs.rmSync(path.join(cut, "step-000006"), { recursive: true });
    fs.writeFileSync(path.join(cut, "latest"), "step-000003\n");
    expect(await trainMain(args(cut, "--resume"), target, quiet)).toBe(0);
    // Stochastic rounding draws each step's stream from (table seed, step): nothing to carry in the checkpoint.
    expect(losses(cut).slice(-3)).toEqual(losses(whole).slice(-3));
    const final = (out: string) => fs.readFileSync(path.join(out, "step-000006", "optimizer.safetensors"));
    expect(final(cut).equals(final(whole))).toBe(true);
    tf.disposeVariables();
  });
});
