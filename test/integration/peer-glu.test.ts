/**
 * GLU experts end to end without the emitter: a spec with `peer(..., glu: true)`
 * is checked, costed (the report row says glu; static params equal the built
 * model's), trained by trainMain on the generic runtime, interrupted and resumed
 * to the same losses, and exported with the gate table by its manifest name.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/check/index.js";
import { costModel } from "../../compiler/cost/index.js";
import { keyArgs } from "../../compiler/report/rows.js";
import type { IRModel } from "../../ir/types.js";
import { SafetensorsFile } from "../../runtime/checkpoint/index.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain, type TrainTarget } from "../../runtime/train/main.js";

const SPEC = `
model glu {
  vocab 256
  context 16
  embed tokens(dim: 16)
  positions rope
  repeat 2 as i {
    residual {
      norm rms
      attention(heads: 2)
    }
    residual {
      norm rms
      if i == 1 {
        peer(experts: 8^2, heads: 2, topk: 4, key_dim: 8, act: silu, glu: true)
      } else {
        ffw(hidden: 32)
      }
    }
  }
  norm rms
  lm_head tied
}

train glu {
  batch 4
  micro_batch 2
  steps 4
  optimizer adamw(lr: 3e-3, expert_lr: 1e-2)
  data bytes(val: 10%)
  eval_every 100
  checkpoint_every 2
  log_every 1
}
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-glu-"));
process.env.XDG_CACHE_HOME = path.join(dir, "cache");
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(200));

function checked(): IRModel {
  const result = checkFiles(["glu.peer"], { readFile: (f) => (f === "glu.peer" ? SPEC : undefined) });
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return result.program.models[0]!;
}

const quiet = { out: () => undefined, err: () => undefined };

describe("PEER GLU experts through check, report, train, resume and export", () => {
  const ir = checked();
  const target: TrainTarget = { ir, build: (o) => buildModel(ir, o) };
  const peerPath = "blocks.1.peer";

  it("checks and costs: glu in the IR and the report row, static params equal the built model's", () => {
    const peer = ir.layers.find((l) => l.kind === "peer");
    expect(peer).toMatchObject({ path: peerPath, glu: true, act: "silu", experts: 64 });
    const cost = costModel(ir);
    const row = cost.layers.find((l) => l.path === peerPath)!;
    expect(keyArgs(row)).toBe("N 8², h 2, k 4, dk 8, glu");
    expect(row.paramsBreakdown.experts_g).toBe(64n * 16n);
    const built = buildModel(ir, { seed: 1, backend: "wasm" });
    const dense = built.variables.reduce((n, v) => n + BigInt(v.variable.size), 0n);
    const sparse = built.sparseTables.reduce((n, t) => n + BigInt(t.rows * t.cols), 0n);
    expect(dense + sparse).toBe(cost.totals.params);
  });

  it("trains, resumes to the uninterrupted run's losses and exports experts.g", async () => {
    const runA = path.join(dir, "a");
    const exportA = path.join(dir, "export-a");
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runA, "--export", exportA], target, quiet)).toBe(0);
    const lossesA = readMetrics(path.join(runA, "metrics.jsonl")).filter((m) => m.loss !== undefined).map((m) => m.loss);
    expect(lossesA).toHaveLength(4);

    const runC = path.join(dir, "c");
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runC], target, quiet)).toBe(0);
    fs.rmSync(path.join(runC, "step-000004"), { recursive: true, force: true });
    fs.writeFileSync(path.join(runC, "latest"), "step-000002\n");
    const exportC = path.join(dir, "export-c");
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runC, "--resume", "--export", exportC], target, quiet)).toBe(0);
    const lossesC = readMetrics(path.join(runC, "metrics.jsonl")).filter((m) => m.loss !== undefined).map((m) => m.loss);
    expect(lossesC).toEqual(lossesA);

    const a = SafetensorsFile.open(path.join(exportA, "weights.safetensors"));
    const c = SafetensorsFile.open(path.join(exportC, "weights.safetensors"));
    try {
      const name = `${peerPath}.experts.g`;
      expect(a.info(name).shape).toEqual([64, 16]);
      expect(a.names()).toEqual(expect.arrayContaining([`${peerPath}.experts.u`, `${peerPath}.experts.v`, name]));
      // The resumed run's gate table is the uninterrupted one's, bit for bit.
      expect(Array.from(c.read(name))).toEqual(Array.from(a.read(name)));
    } finally {
      a.close();
      c.close();
    }
  });
});
