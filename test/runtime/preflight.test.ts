/**
 * Memory preflight (runtime/train/preflight.ts) with injected machine sizes,
 * its wiring into trainMain (refused before the model is built, exit code 1;
 * --force-memory starts anyway), and the agreement of the static report's
 * expert-path memory (compiler/cost) with the runtime's live accounting.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { costModel, denseMemoryFigures, sparseTableTrainBytes } from "../../compiler/cost/index.js";
import type { IRModel } from "../../ir/types.js";
import { builtinCorpus } from "../../runtime/data/index.js";
import { runtimeExpertBytes, sparseTableBytes } from "../../runtime/experts/memory.js";
import type { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain, type TrainIO } from "../../runtime/train/main.js";
import {
  estimateRunMemory, machineMemory, memoryProblems, preflightMemory, RUNTIME_BASELINE_BYTES, WASM_HEAP_LIMIT_BYTES,
} from "../../runtime/train/preflight.js";
import { Trainer } from "../../runtime/train/trainer.js";
import { useWasm } from "./experts-fixtures.js";

const GiB = 2 ** 30;

interface SpecOptions {
  readonly d?: number;
  readonly ffw: string;
  readonly batch?: number;
  readonly context?: number;
  /** `expert_moments` of the optimizer; omitted = not written (fp32). */
  readonly moments?: "fp32" | "bf16";
}

/** A one-block byte-level model around `ffw`, checked from source like a user's spec. */
function spec(o: SpecOptions): IRModel {
  const d = o.d ?? 32;
  const context = o.context ?? 32;
  const text = `model m {
  vocab 256
  context ${context}
  embed tokens(dim: ${d})
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: ${d / 2}, causal) }
  residual { norm rms; ${o.ffw} }
  norm rms
  lm_head tied
}
train m {
  batch ${o.batch ?? 4}
  steps 10
  optimizer adamw(lr: 1e-3, expert_lr: 1e-2${o.moments ? `, expert_moments: ${o.moments}` : ""})
  data bytes(val: 5%)
}
`;
  const result = checkSource("preflight.peer", text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((e) => e.message)).toEqual([]);
  return result.program.models[0];
}

const peer = (experts: string, d = 32) =>
  `peer(experts: ${experts}, heads: 2, topk: 4, key_dim: ${d}, act: gelu, query_norm: batch)`;

function capture(): TrainIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l) };
}


/** What an emitted trainer passes to the preflight: the cost model's dense figures. */
const figures = (ir: IRModel) => denseMemoryFigures(costModel(ir).layers);

describe("machineMemory", () => {
  it("takes the smaller of the OS total and a numeric cgroup limit; 'max' means no limit", () => {
    const files = (map: Record<string, string>) => (file: string) => map[file];
    expect(machineMemory(files({ "/sys/fs/cgroup/memory.max": "max\n" }), () => 24 * GiB)).toEqual({ bytes: 24 * GiB, source: "total memory" });
    const limited = machineMemory(files({ "/sys/fs/cgroup/memory.max": `${8 * GiB}\n` }), () => 24 * GiB);
    expect(limited.bytes).toBe(8 * GiB);
    expect(limited.source).toContain("/sys/fs/cgroup/memory.max");
    // cgroup v1 reports "unlimited" as a huge number: the OS total wins.
    expect(machineMemory(files({ "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712" }), () => 24 * GiB).bytes).toBe(24 * GiB);
    expect(machineMemory(() => undefined, () => 3 * GiB).bytes).toBe(3 * GiB);
  });
});

describe("estimateRunMemory", () => {
  it("splits a PEER run into expert tables (host) and tfjs parts that follow the cost model", () => {
    const ir = spec({ ffw: peer("256^2"), batch: 4, context: 32 });
    const shape = { batch: 4, microBatch: 4, context: 32 };
    const estimate = estimateRunMemory(ir, shape, figures(ir));
    const byName = new Map(estimate.parts.map((p) => [p.name, p]));
    const peerLayer = ir.layers.find((l) => l.kind === "peer");
    if (peerLayer?.kind !== "peer") throw new Error("no peer layer");
    // u and v: 2 · 65536 · 32 floats.
    expect(byName.get("expert tables")?.bytes).toBe(2 * 65536 * 32 * 4);
    expect(byName.get("expert tables")?.tfjs).toBe(false);
    expect(byName.get("expert tables")!.bytes + byName.get("expert Adam state and gradients")!.bytes).toBe(sparseTableBytes(peerLayer, 4 * 32));
    // Dense weights: everything the cost model counts minus the two tables.
    const cost = costModel(ir);
    const denseParams = Number(cost.totals.params) - 2 * 65536 * 32;
    expect(byName.get("dense weights")?.bytes).toBe(4 * denseParams);
    expect(byName.get("dense weights")?.tfjs).toBe(true);
    expect(byName.get("activations at 4 × 32 tokens")?.bytes).toBe(cost.train!.peakMemory.fp32.activations);
    expect(byName.get("runtime baseline")?.bytes).toBe(RUNTIME_BASELINE_BYTES);
    expect(estimate.totalBytes).toBe(estimate.parts.reduce((s, p) => s + p.bytes, 0));
    expect(estimate.tfjsBytes).toBe(estimate.parts.filter((p) => p.tfjs).reduce((s, p) => s + p.bytes, 0));
    // Activations scale with the micro-batch, not with the accumulated batch.
    const accumulated = estimateRunMemory(ir, { batch: 16, microBatch: 4, context: 32 }, figures(ir));
    expect(accumulated.parts.find((p) => p.name.startsWith("activations"))?.bytes).toBe(byName.get("activations at 4 × 32 tokens")?.bytes);
  });

  it("without the cost model's figures (a hand-built target) counts only expert tables and the baseline", () => {
    const ir = spec({ ffw: peer("256^2"), batch: 4, context: 32 });
    const shape = { batch: 4, microBatch: 4, context: 32 };
    const names = estimateRunMemory(ir, shape, null).parts.map((p) => p.name);
    expect(names).toEqual(["expert tables", "expert Adam state and gradients", "runtime baseline"]);
  });

  it("puts the paper's 1024² PEER layer at about 6 GiB of host memory, outside the wasm heap", () => {
    const ir = spec({ d: 256, ffw: peer("1024^2", 128), batch: 8, context: 256 });
    const estimate = estimateRunMemory(ir, { batch: 8, microBatch: 8, context: 256 }, figures(ir));
    const host = estimate.totalBytes - estimate.tfjsBytes - RUNTIME_BASELINE_BYTES;
    expect(host).toBeGreaterThan(6 * GiB);
    expect(host).toBeLessThan(6.2 * GiB);
    expect(estimate.tfjsBytes).toBeLessThan(WASM_HEAP_LIMIT_BYTES);
  });
});

describe("memoryProblems", () => {
  const ir = spec({ d: 256, ffw: peer("1024^2", 128), batch: 8, context: 256 });
  const estimate = estimateRunMemory(ir, { batch: 8, microBatch: 8, context: 256 }, figures(ir));

  it("accepts a run that fits and refuses one that does not, naming estimate, limit and largest parts", () => {
    expect(memoryProblems(estimate, { bytes: 24 * GiB, source: "total memory" }, "wasm")).toEqual([]);
    const problems = memoryProblems(estimate, { bytes: 4 * GiB, source: "total memory" }, "wasm");
    expect(problems).toHaveLength(1);
    const gib = (estimate.totalBytes / GiB).toFixed(1);
    expect(problems[0]).toMatch(new RegExp(`^this run needs about ${gib} GiB \\(expert Adam state and gradients 4\\.0 GiB, expert tables 2\\.0 GiB, `));
    expect(problems[0]).toContain("but the machine has 4.0 GiB (total memory)");
    expect(problems[0]).toContain("--force-memory");
    expect(problems[0]).not.toContain("\n");
  });

  it("on wasm, refuses tfjs tensors beyond the 4 GiB heap even when the machine is large", () => {
    const dense = spec({ d: 256, ffw: "ffw(hidden: 1024, act: gelu)", batch: 4096, context: 256 });
    const big = estimateRunMemory(dense, { batch: 4096, microBatch: 4096, context: 256 }, figures(dense));
    expect(big.tfjsBytes).toBeGreaterThan(WASM_HEAP_LIMIT_BYTES);
    const machine = { bytes: 1024 * GiB, source: "total memory" };
    const wasm = memoryProblems(big, machine, "wasm");
    expect(wasm).toHaveLength(1);
    expect(wasm[0]).toMatch(/^this run's tfjs tensors need about [\d.]+ GiB \(activations at 4096 × 256 tokens /);
    expect(wasm[0]).toContain("the wasm heap holds at most 4.0 GiB");
    expect(memoryProblems(big, machine, "cpu")).toEqual([]);
  });

  it("preflightMemory combines the estimate with an injected machine", () => {
    const result = preflightMemory(ir, { batch: 8, microBatch: 8, context: 256 }, figures(ir), "wasm", { bytes: 2 * GiB, source: "cgroup limit x" });
    expect(result.estimate.totalBytes).toBe(estimate.totalBytes);
    expect(result.problems[0]).toContain("(cgroup limit x)");
  });
});

describe("bf16 expert moments in the preflight", () => {
  const shape = { batch: 4, microBatch: 4, context: 32 };
  const fp32 = estimateRunMemory(spec({ ffw: peer("256^2") }), shape, null);
  const bf16 = estimateRunMemory(spec({ ffw: peer("256^2"), moments: "bf16" }), shape, null);
  const part = (e: typeof fp32, name: string) => e.parts.find((p) => p.name === name)!.bytes;
  const elements = 2 * 65536 * 32;

  it("halves the moments: 4 bytes per table element fewer, tables and the rest unchanged", () => {
    expect(fp32.expertMoments).toBe("fp32");
    expect(bf16.expertMoments).toBe("bf16");
    expect(fp32.expertMomentBytes).toBe(8 * elements);
    expect(bf16.expertMomentBytes).toBe(4 * elements);
    expect(part(fp32, "expert Adam state and gradients") - part(bf16, "expert Adam state and gradients")).toBe(4 * elements);
    expect(part(bf16, "expert tables")).toBe(part(fp32, "expert tables"));
    expect(fp32.totalBytes - bf16.totalBytes).toBe(4 * elements);
    const peerLayer = spec({ ffw: peer("256^2") }).layers.find((l) => l.kind === "peer")!;
    expect(part(bf16, "expert tables") + part(bf16, "expert Adam state and gradients")).toBe(sparseTableBytes(peerLayer, 4 * 32, "bf16"));
  });

  it("a refusal with fp32 moments names bf16 moments and what they save; with bf16 it does not", () => {
    const small = { bytes: 256 * 2 ** 20, source: "total memory" };
    const [fp32Problem] = memoryProblems(fp32, small, "cpu");
    expect(fp32Problem).toContain("set `expert_moments: bf16` in the train section's optimizer (saves 16 MiB)");
    const [bf16Problem] = memoryProblems(bf16, small, "cpu");
    expect(bf16Problem).toBeDefined();
    expect(bf16Problem).not.toContain("expert_moments");
    // A dense model has no expert moments to halve.
    const dense = estimateRunMemory(spec({ ffw: "ffw(hidden: 128, act: gelu)" }), shape, null);
    expect(memoryProblems(dense, { bytes: 1, source: "total memory" }, "cpu")[0]).not.toContain("expert_moments");
  });
});

describe("the issue's 4-block LM with 1024² PEER experts in every block (bench/peer-lm-4x1m.peer)", () => {
  // The machine of issue #12: 23.5 GiB.
  const machine = { bytes: 23.5 * GiB, source: "total memory" };
  const text = fs.readFileSync(path.join(import.meta.dirname, "../../bench/peer-lm-4x1m.peer"), "utf8");
  const checked = (source: string) => {
    const result = checkSource("bench/peer-lm-4x1m.peer", source);
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return result.program.models[0];
  };
  const bf16 = checked(text);
  const fp32 = checked(text.replace(", expert_moments: bf16", ""));
  const shapeOf = (ir: IRModel) => ({ batch: ir.train!.batch, microBatch: ir.train!.microBatch, context: ir.train!.context });

  it("is the issue's model: d 256, 4 blocks, PEER 1024² (h 4, k 16, key dim 128) in each, context 128, batch 16", () => {
    const peers = bf16.layers.filter((l) => l.kind === "peer");
    expect(peers).toHaveLength(4);
    for (const l of peers) expect(l).toMatchObject({ experts: 1024 * 1024, heads: 4, topk: 16, keyDim: 128, dModel: 256 });
    expect(shapeOf(bf16)).toEqual({ batch: 16, microBatch: 16, context: 128 });
    expect(bf16.train!.optimizer.expertMoments).toBe("bf16");
  });

  it("with fp32 moments is refused as in the issue: about 26.7 GiB, 17.1 GiB of it expert state", () => {
    const result = preflightMemory(fp32, shapeOf(fp32), figures(fp32), "wasm", machine);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^this run needs about 26\.7 GiB \(expert Adam state and gradients 17\.1 GiB, expert tables 8\.0 GiB, /);
    expect(result.problems[0]).toContain("set `expert_moments: bf16` in the train section's optimizer (saves 8.0 GiB)");
  });

  it("with bf16 moments fits: the estimate drops by the 8 GiB of halved moments, below 23.5 GiB", () => {
    const a = estimateRunMemory(fp32, shapeOf(fp32), figures(fp32));
    const result = preflightMemory(bf16, shapeOf(bf16), figures(bf16), "wasm", machine);
    expect(result.problems).toEqual([]);
    expect(a.totalBytes - result.estimate.totalBytes).toBe(8 * GiB);
    expect(result.estimate.totalBytes).toBeLessThan(machine.bytes);
    expect(result.estimate.totalBytes / GiB).toBeCloseTo(18.7, 1);
    // The static report counts the same saving: 4 bytes × 8 tables × 1M rows × 256.
    expect(costModel(fp32).train!.peakMemory.fp32.total - costModel(bf16).train!.peakMemory.fp32.total).toBe(8 * GiB);
  });
});

describe("trainMain memory preflight", () => {
  // 4096² experts × d 256: about 200 GiB of tables and moments, more than any test machine.
  const huge = spec({ d: 256, ffw: peer("4096^2", 128), batch: 2, context: 16 });

  it("refuses a run that cannot fit before building the model, with exit code 1", async () => {
    expect(estimateRunMemory(huge, { batch: 2, microBatch: 2, context: 16 }, figures(huge)).totalBytes).toBeGreaterThan(os.totalmem());
    let built = false;
    const io = capture();
    const code = await trainMain(["--backend", "cpu", "--steps", "1", "--out", fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"))], {
      ir: huge,
      memory: figures(huge),
      build: () => {
        built = true;
        throw new Error("must not build");
      },
    }, io);
    expect(code).toBe(1);
    expect(built).toBe(false);
    const error = io.lines.find((l) => l.startsWith("error: "));
    expect(error).toMatch(/^error: this run needs about \d+(\.\d)? GiB \(expert Adam state and gradients .*but the machine has .*--force-memory/);
  });

  it("--force-memory warns and goes on to build the model", async () => {
    let built = false;
    const io = capture();
    const code = await trainMain(["--backend", "cpu", "--steps", "1", "--force-memory", "--out", fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"))], {
      ir: huge,
      memory: figures(huge),
      build: () => {
        built = true;
        throw new Error("stop here");
      },
    }, io);
    expect(built).toBe(true);
    expect(code).toBe(70); // the deliberate build failure, reported as internal
    expect(io.lines.some((l) => l.startsWith("warning: this run needs about") && l.includes("--force-memory given"))).toBe(true);
  });
});

describe("static expert-path memory vs the runtime's live accounting", () => {
  beforeAll(useWasm);

  // `within`: tolerance of live against static (default 10%). The static scratch assumes every retrieval of a step is a
  // distinct row (8192 rows per table at 128² × 4 · 8 per token × 256 tokens); about 1900 are, so the static figure is
  // 2 MB high there, which is 9% of the fp32 state and 13% of the smaller bf16 state.
  const configs: { name: string; ffw: string; d: number; batch: number; context: number; moments?: "bf16"; within?: number }[] = [
    { name: "PEER 64² (every row touched)", ffw: "peer(experts: 64^2, heads: 2, topk: 4, key_dim: 32, act: gelu, query_norm: batch)", d: 32, batch: 4, context: 32 },
    { name: "PEER 128² (partial retrieval)", ffw: "peer(experts: 128^2, heads: 4, topk: 8, key_dim: 32, act: relu, query_norm: layer)", d: 48, batch: 4, context: 64 },
    { name: "PKM 64²", ffw: "pkm(memories: 64^2, heads: 2, topk: 8, key_dim: 32, value_dim: 64, query_norm: batch)", d: 64, batch: 4, context: 32 },
    { name: "PKM 32², value_dim 16", ffw: "pkm(memories: 32^2, heads: 1, topk: 4, key_dim: 16, value_dim: 16)", d: 16, batch: 2, context: 32 },
    { name: "PEER 64², bf16 moments", ffw: "peer(experts: 64^2, heads: 2, topk: 4, key_dim: 32, act: gelu, query_norm: batch)", d: 32, batch: 4, context: 32, moments: "bf16" },
    { name: "PEER 128², bf16 moments (partial retrieval)", ffw: "peer(experts: 128^2, heads: 4, topk: 8, key_dim: 32, act: relu, query_norm: layer)", d: 48, batch: 4, context: 64, moments: "bf16", within: 0.15 },
    { name: "PKM 64², bf16 moments", ffw: "pkm(memories: 64^2, heads: 2, topk: 8, key_dim: 32, value_dim: 64, query_norm: batch)", d: 64, batch: 4, context: 32, moments: "bf16" },
  ];

  for (const c of configs) {
    it(`${c.name}: cost model and runtime agree within ${(c.within ?? 0.1) * 100}% after training steps`, () => {
      const ir = spec({ d: c.d, ffw: c.ffw, batch: c.batch, context: c.context, moments: c.moments });
      const cost = costModel(ir);
      const tokensPerStep = cost.train!.tokensPerStep;
      const staticBytes = cost.layers.reduce((s, l) => s + sparseTableTrainBytes(l, "fp32", tokensPerStep), 0);
      const model = buildModel(ir, { seed: 5, backend: "wasm" });
      const corpus = builtinCorpus();
      let offset = 0;
      const trainer = new Trainer(model, { optimizer: ir.train!.optimizer, schedule: ir.train!.schedule, totalSteps: 3, microBatches: 1 }, {
        next: () => {
          const n = c.batch * c.context;
          const inputs = new Int32Array(n);
          const targets = new Int32Array(n);
          for (let i = 0; i < n; i++) {
            inputs[i] = corpus[(offset + i) % corpus.length];
            targets[i] = corpus[(offset + i + 1) % corpus.length];
          }
          offset += n + 17;
          return { rows: c.batch, context: c.context, inputs, targets };
        },
      });
      for (let s = 0; s < 3; s++) trainer.step();
      const expertLayers = model.layers.filter((l) => l.sparseTables.length > 0);
      expect(expertLayers).toHaveLength(1);
      // The model's tables store the moments the spec asked for.
      for (const t of expertLayers[0].sparseTables) expect((t as ExpertTable).m).toBeInstanceOf(c.moments === "bf16" ? Uint16Array : Float32Array);
      const live = runtimeExpertBytes(expertLayers[0]);
      expect(Math.abs(live - staticBytes) / staticBytes).toBeLessThan(c.within ?? 0.1);
      // The preflight's expert parts (the runtime's layout: the static figure plus 8 bytes of bookkeeping per row) match it.
      const estimate = estimateRunMemory(ir, { batch: c.batch, microBatch: c.batch, context: c.context }, null);
      const expertEstimate = estimate.parts.filter((p) => p.name.startsWith("expert")).reduce((sum, p) => sum + p.bytes, 0);
      expect(expertEstimate).toBeGreaterThan(staticBytes);
      expect((expertEstimate - staticBytes) / staticBytes).toBeLessThan(0.05);
      model.dispose();
      tf.disposeVariables();
    });
  }
});
