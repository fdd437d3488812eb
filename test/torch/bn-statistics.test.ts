/**
 * The torch target and the query BatchNorm knobs: `bn_momentum` reaches
 * rt.query_batch_norm as a literal (and nothing changes without it);
 * `bn_recalibrate` is carried in TRAIN, and peerc_runtime recalibrates like the
 * TypeScript trainer, with the same defaults and the same batch stream seed.
 * (Running the torch trainer needs torch: test/torch/cross-target.test.ts.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_BN_RECALIBRATE } from "../../ir/defaults.js";
import { BN_MOMENTUM } from "../../runtime/experts/query-net.js";
import { recalibrationSeed } from "../../runtime/train/recalibrate.js";
import { emitTorchModelTrainer, torchRuntimeSource } from "../../targets/torch/index.js";
import { checkedModels, tempDir } from "../emit/helpers.js";

const dir = tempDir("peerc-torch-bn-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (layer: string, train: string) => `
model q {
  vocab 256
  context 16
  embed tokens(dim: 16)
  residual { norm rms; peer(experts: 8^2, heads: 2, topk: 4, key_dim: 8${layer}) }
  norm rms
  lm_head tied
}
train q {
  batch 2
  steps 1
  optimizer adamw(lr: 1e-3)
${train}}`;

function emit(layer: string, train = ""): Map<string, string> {
  const model = checkedModels(spec(layer, train))[0]!;
  return emitTorchModelTrainer(model, { specFile: path.join(dir, "q.peer"), outDir: path.join(dir, "q") });
}

describe("torch target: query BatchNorm statistics", () => {
  it("passes bn_momentum to query_batch_norm only when the spec writes it", () => {
    expect(emit(", bn_momentum: 0.1").get("model.py")).toMatch(/rt\.query_batch_norm\(q, [^\n]*, ctx\.training, momentum=0\.1\)/);
    expect(emit(", bn_momentum: 1").get("model.py")).toContain("ctx.training, momentum=1.0)");
    expect(emit("").get("model.py")).toMatch(/rt\.query_batch_norm\(q, [^\n]*, ctx\.training\)\n/);
  });

  it("carries bn_recalibrate in the train section; the torch runtime has the TypeScript defaults", () => {
    expect(emit("", "  bn_recalibrate 4\n").get("train.py")).toMatch(/"bnRecalibrate": 4/);
    expect(emit("").get("train.py")).not.toContain("bnRecalibrate");
    const runtime = torchRuntimeSource();
    expect(runtime).toContain(`BN_MOMENTUM = ${BN_MOMENTUM}  #`);
    expect(runtime).toContain(`DEFAULT_BN_RECALIBRATE = ${DEFAULT_BN_RECALIBRATE}  #`);
    expect(runtime).toContain('recalibrate = train.get("bnRecalibrate", DEFAULT_BN_RECALIBRATE)');
    expect(runtime).toMatch(/def query_batch_norm\(q, gamma, beta, running_mean, running_var, training, momentum=BN_MOMENTUM\)/);
    // The seed formula, transcribed: (imul(seed ^ 0x2545F491, 0x9E3779B1) + imul(step + 1, 0x6A09E667)) mod 2^32.
    expect(runtime).toContain("return (_imul((int(seed) ^ 0x2545F491) & M32, 0x9E3779B1) + _imul(step + 1, 0x6A09E667)) & M32");
    const imul = (a: bigint, b: bigint) => (a * b) & 0xffffffffn;
    for (const [seed, step] of [[1, 0], [1, 200], [4294967295, 7]] as const) {
      const python = (imul((BigInt(seed) ^ 0x2545f491n) & 0xffffffffn, 0x9e3779b1n) + imul(BigInt(step + 1), 0x6a09e667n)) & 0xffffffffn;
      expect(recalibrationSeed(seed, step)).toBe(Number(python));
    }
});
});
