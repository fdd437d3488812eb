/**
 * The torch target and the query BatchNorm knobs: `bn_momentum` reaches
 * rt.query_batch_norm as a literal (and nothing changes without it);
 * `bn_recalibrate` is carried in TRAIN, where peerc_runtime refuses it with a
 * message (not implemented in the torch trainer yet).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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

  it("carries bn_recalibrate in the train section, which the torch runtime refuses with a message", () => {
    expect(emit("", "  bn_recalibrate 4\n").get("train.py")).toMatch(/"bnRecalibrate": 4/);
    expect(emit("").get("train.py")).not.toContain("bnRecalibrate");
    const runtime = torchRuntimeSource();
    expect(runtime).toContain('if train.get("bnRecalibrate"):');
    expect(runtime).toContain("the torch target does not recalibrate query BatchNorm statistics yet");
    expect(runtime).toMatch(/def query_batch_norm\(q, gamma, beta, running_mean, running_var, training, momentum=BN_MOMENTUM\)/);
  });
});
