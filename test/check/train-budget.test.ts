import { describe, expect, it } from "vitest";
import { check, codes, modelWith, onlyModel } from "./helpers.js";

const train = (body: string) => check(modelWith("", { post: `train m {\n${body}\n}` }));
const budget = (body: string) => check(modelWith("", { post: `budget m {\n${body}\n}` }));

describe("train sections", () => {
  it("fills every default", () => {
    const t = onlyModel(train("  batch 16\n  steps 100\n  optimizer adamw(lr: 3e-4)")).train!;
    expect(t).toMatchObject({
      batch: 16,
      microBatch: 16,
      context: 64,
      horizon: { kind: "steps", steps: 100 },
      optimizer: { kind: "adamw", lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1.0, expertLr: null, decayAll: false },
      schedule: { kind: "cosine", warmup: { steps: 0 }, minLr: 0.1 },
      data: { tokenizer: "bytes", path: null, valFraction: 0.05, bpeVocab: null },
      seed: 1,
      evalEvery: 100,
      checkpointEvery: 500,
      logEvery: 10,
    });
  });

  it("reads every setting", () => {
    const t = onlyModel(
      train(`  batch 32
  micro_batch 8
  tokens 2G
  optimizer adamw(lr: 1e-3, betas: (0.8, 0.99), eps: 1e-6, weight_decay: 0, clip: none, expert_lr: 1e-2, decay_all)
  schedule linear(warmup: 2%, min_lr: 0%)
  data bpe("corpus/train.txt", vocab: 8192, val: 1%)
  seed 7
  eval_every 20
  checkpoint_every 40
  log_every 5`),
    ).train!;
    expect(t).toMatchObject({
      batch: 32,
      microBatch: 8,
      horizon: { kind: "tokens", tokens: 2_000_000_000 },
      optimizer: { lr: 1e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0, clip: null, expertLr: 1e-2, decayAll: true },
      schedule: { kind: "linear", warmup: { fraction: 0.02 }, minLr: 0 },
      data: { tokenizer: "bpe", path: "corpus/train.txt", valFraction: 0.01, bpeVocab: 8192 },
      seed: 7,
      evalEvery: 20,
      checkpointEvery: 40,
      logEvery: 5,
    });
    const f = onlyModel(train("  batch 8\n  flops 6e18\n  optimizer adamw(lr: 1e-3)\n  schedule constant(warmup: 200)")).train!;
    expect(f.horizon).toEqual({ kind: "flops", flops: 6e18 });
    expect(f.schedule.warmup).toEqual({ steps: 200 });
  });

  it("reports missing, duplicate, unknown and conflicting settings", () => {
    expect(codes(train("  steps 1\n  optimizer adamw(lr: 1e-3)"))).toEqual(["E0503"]);
    expect(codes(train("  batch 8\n  optimizer adamw(lr: 1e-3)"))).toEqual(["E0503"]);
    expect(codes(train("  batch 8\n  steps 1"))).toEqual(["E0503"]);
    expect(codes(train("  batch 8\n  steps 1\n  flops 1e18\n  optimizer adamw(lr: 1e-3)"))).toEqual(["E0504"]);
    expect(codes(train("  batch 8\n  batch 9\n  steps 1\n  optimizer adamw(lr: 1e-3)"))).toEqual(["E0507"]);
    expect(codes(train("  batch 8\n  stpes 1\n  optimizer adamw(lr: 1e-3)"))).toEqual(["E0506"]);
    expect(codes(train("  batch 8\n  steps 1\n  optimizer adamw()"))).toEqual(["E0303"]);
    expect(codes(train("  batch 8\n  steps 1\n  optimizer sgd(lr: 1)"))).toEqual(["E0305"]);
    expect(codes(train("  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3, betas: (0.9, 1.5))"))).toEqual(["E0214"]);
  });

  it("requires micro_batch to divide batch, suggesting the nearest divisors", () => {
    const r = train("  batch 12\n  micro_batch 5\n  steps 1\n  optimizer adamw(lr: 1e-3)");
    expect(codes(r)).toEqual(["E0505"]);
    expect(r.diagnostics[0]!.help).toBe("use 4 or 6");
  });

  it("keeps data paths as written and refuses NUL and empty ones", () => {
    expect(onlyModel(train('  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3)\n  data bytes("../d/x.txt")')).train!.data.path).toBe("../d/x.txt");
    expect(codes(train('  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3)\n  data bytes("a\\u{0}b")'))).toEqual(["E0511"]);
    expect(codes(train('  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3)\n  data bytes(vocab: 300)'))).toEqual(["E0302"]);
  });

  it("refuses a second train section and statements that are not settings", () => {
    const two = check(modelWith("", { post: "train m { batch 8; steps 1; optimizer adamw(lr: 1) }\ntrain m { batch 8; steps 1; optimizer adamw(lr: 1) }" }));
    expect(codes(two)).toEqual(["E0502"]);
    expect(codes(train("  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3)\n  repeat 2 { seed 1 }"))).toEqual(["E0109"]);
  });
});

describe("budget sections", () => {
  it("converts limits to base units", () => {
    const b = onlyModel(
      budget(`  params <= 2.5G
  active_params < 200M params
  flops_per_token <= 1.2 GFLOP
  train_flops_per_token <= 3 GFLOPs
  train_flops <= 6e18
  memory(train, bf16) <= 80 GiB on h100
  memory(weights) <= 2 GB
  bytes_per_token <= 10 MiB
  step_time <= 250 ms on a100`),
    ).budgets;
    expect(b.map((x) => [x.metric, x.op, x.limit, x.unit, x.target, x.precision])).toEqual([
      ["params", "<=", 2.5e9, null, null, "fp32"],
      ["active_params", "<", 2e8, "params", null, "fp32"],
      ["flops_per_token", "<=", 1.2e9, "GFLOP", null, "fp32"],
      ["train_flops_per_token", "<=", 3e9, "GFLOPs", null, "fp32"],
      ["train_flops", "<=", 6e18, null, null, "fp32"],
      ["memory_train", "<=", 80 * 2 ** 30, "GiB", "h100", "bf16"],
      ["memory_weights", "<=", 2e9, "GB", null, "fp32"],
      ["bytes_per_token", "<=", 10 * 2 ** 20, "MiB", null, "fp32"],
      ["step_time", "<=", 0.25, "ms", "a100", "fp32"],
    ]);
  });

  it("reports unknown metrics, units, qualifiers and targets", () => {
    expect(codes(budget("  flops <= 1"))).toEqual(["E0508"]);
    expect(codes(budget("  params <= 1 GFLOP"))).toEqual(["E0509"]);
    expect(codes(budget("  memory(train) <= 1 GiBs"))).toEqual(["E0509"]);
    expect(codes(budget("  memory <= 1 GiB"))).toEqual(["E0512"]);
    expect(codes(budget("  params(bf16) <= 1"))).toEqual(["E0512"]);
    expect(codes(budget("  step_time <= 1 s"))).toEqual(["E0510"]);
    expect(codes(budget("  memory(train) <= 1 GiB on tpu"))).toEqual(["E0510"]);
    expect(codes(budget('  params <= "big"'))).toEqual(["E0206"]);
  });
});
