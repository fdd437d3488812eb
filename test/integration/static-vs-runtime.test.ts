/**
 * The static cost model against the runtime (issue: cost model §8):
 * - the parameters of every instantiated spec equal the static count exactly;
 * - the matrix FLOPs of one profiled forward pass, read off the shapes of the
 *   matmul kernels that really ran (and of the fused PEER/PKM kernels, which
 *   report their shapes through runtime/experts/trace.ts), equal the static
 *   forward matrix FLOPs within 1%.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkFiles } from "../../compiler/check/index.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel } from "../../ir/types.js";
import { buildModel, selectBackend } from "../../runtime/index.js";
import { traceFusedKernels } from "../../runtime/experts/trace.js";

const repo = path.resolve(import.meta.dirname, "../..");

/** Models small enough to instantiate in a test: at most 16 M parameters (64 MiB fp32). */
const INSTANTIATE_LIMIT = 16_000_000n;

function modelsOf(files: string[]): IRModel[] {
  const result = checkFiles(files.map((f) => path.join(repo, f)));
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return [...result.program.models];
}

const specFiles = fs
  .readdirSync(path.join(repo, "specs"))
  .filter((f) => f.endsWith(".peer"))
  .map((f) => `specs/${f}`);
const candidates = modelsOf([...specFiles, "test/fixtures/good/everything.peer"]);
const instantiable = candidates.filter((m) => costModel(m).totals.params <= INSTANTIATE_LIMIT);

beforeAll(async () => {
  await selectBackend("cpu");
});

describe("static params equal the instantiated model's", () => {
  it("covers every layer kind", () => {
    const kinds = new Set(instantiable.flatMap((m) => m.layers.map((l) => l.kind)));
    expect([...kinds].sort()).toEqual(["attention", "embed", "ffw", "lm_head", "moe", "norm", "peer", "pkm"]);
  });

  for (const model of instantiable) {
    it(`${model.name} (${path.relative(repo, model.file)})`, () => {
      const cost = costModel(model);
      const built = buildModel(model, { seed: 1, backend: "cpu" });
      try {
        const dense = built.variables.reduce((n, v) => n + BigInt(v.variable.size), 0n);
        const sparse = built.sparseTables.reduce((n, t) => n + BigInt(t.rows) * BigInt(t.cols), 0n);
        expect(dense + sparse).toBe(cost.totals.params);
        expect(BigInt(built.paramCount())).toBe(cost.totals.params);
        // Per layer too, so a wrong formula cannot hide behind another layer's error.
        for (const layer of built.layers) {
          const layerCost = cost.layers.find((l) => l.path === layer.path)!;
          const own =
            layer.variables.reduce((n, v) => n + BigInt(v.variable.size), 0n) +
            layer.sparseTables.reduce((n, t) => n + BigInt(t.rows) * BigInt(t.cols), 0n);
          const expected = layer.kind === "lm_head" ? (layerCost.params === 0n ? 0n : layerCost.params) : layerCost.params;
          expect({ path: layer.path, params: own }).toEqual({ path: layer.path, params: expected });
        }
      } finally {
        built.dispose();
      }
    });
  }
});

/** 2·m·n·k of every matmul kernel that ran, from its input and output shapes. */
function matmulFlops(kernels: readonly { name: string; inputShapes: number[][]; outputShapes: number[][] }[]): number {
  let flops = 0;
  for (const kernel of kernels) {
    if (kernel.name !== "BatchMatMul" && kernel.name !== "_FusedMatMul" && kernel.name !== "MatMul") continue;
    const [a] = kernel.inputShapes;
    const [out] = kernel.outputShapes;
    const outSize = out!.reduce((p, s) => p * s, 1);
    const m = out![out!.length - 2]!;
    const aBatch = a!.slice(0, -2).reduce((p, s) => p * s, 1);
    const aSize = a!.reduce((p, s) => p * s, 1);
    const k = aSize / (aBatch * m);
    flops += 2 * outSize * k;
  }
  return flops;
}

describe("profiled forward matrix FLOPs equal the static count", () => {
  const profiled = instantiable.filter((m) => m.name === "tiny" || m.name.startsWith("everything"));
  for (const model of profiled) {
    it(`${model.name}`, async () => {
      const cost = costModel(model);
      const built = buildModel(model, { seed: 1, backend: "cpu" });
      try {
        const batch = 2;
        const tokens = batch * model.context;
        const ids = tf.tensor2d(
          Array.from({ length: tokens }, (_, i) => (i * 7919) % model.vocab),
          [batch, model.context],
          "int32",
        );
        // tfjs kernels from tf.profile; PEER/PKM's fused JS kernels report their own shapes.
        const { result: info, records } = await traceFusedKernels(() => tf.profile(() => built.forward(ids, "eval").logits));
        tf.dispose(info.result as tf.Tensor);
        ids.dispose();
        const fused = records.reduce((n, r) => n + r.matrixFlops, 0);
        const measured = matmulFlops(info.kernels as never) + fused;
        // Exact for tiny; MoE token choice may drop tokens over capacity, which the static count (nominal top-k) keeps.
        const expected = cost.totals.forward.matrix * tokens;
        expect(Math.abs(measured - expected) / expected).toBeLessThan(0.01);
      } finally {
        built.dispose();
      }
    });
  }
});
