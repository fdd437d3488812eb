/**
 * Training quality, end to end through the trainer command line: a 3-block
 * byte-level model with a PEER layer in its middle block trains 200 steps on
 * wasm on the built-in corpus, and its validation loss (the whole validation
 * split, BatchNorm in eval mode) ends well below the unigram baseline: the
 * cross entropy on the validation split of the training split's byte
 * frequencies, which is what a model that ignores context can reach at best.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { openDataset } from "../../runtime/data/index.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain, type TrainIO } from "../../runtime/train/main.js";

const CONTEXT = 64;
const VAL_FRACTION = 0.05;

const SPEC = `model quality {
  vocab 256
  context ${CONTEXT}
  embed tokens(dim: 64)
  positions rope
  repeat 3 as i {
    residual {
      norm rms
      attention(heads: 2, head_dim: 32, causal)
    }
    residual {
      norm rms
      if i == 1 {
        peer(experts: 32^2, heads: 2, topk: 4, key_dim: 32, act: gelu, query_norm: batch)
      } else {
        ffw(hidden: 256, act: gelu)
      }
    }
  }
  norm rms
  lm_head tied
}

train quality {
  batch 8
  steps 200
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0, expert_lr: 1e-2)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: ${VAL_FRACTION * 100}%)
}
`;

/** Cross entropy (nats/token) on the validation split of the training split's byte frequencies (add-one smoothed). */
function unigramBaseline(): number {
  const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: VAL_FRACTION, context: CONTEXT });
  try {
    const read = (split: { start: number; length: number }) => {
      const out = new Int32Array(split.length);
      ds.source.read(split.start, out);
      return out;
    };
    const counts = new Float64Array(256).fill(1);
    const train = read(ds.train);
    for (const t of train) counts[t]++;
    const total = train.length + 256;
    const val = read(ds.val);
    let nats = 0;
    for (const t of val) nats -= Math.log(counts[t] / total);
    return nats / val.length;
  } finally {
    ds.close();
  }
}

describe("training quality", () => {
  it("a 3-block model with a PEER layer trains 200 steps on wasm to a validation loss well below the unigram baseline", async () => {
    const checked = checkSource("quality.peer", SPEC);
    expect(checked.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
    const ir = checked.program.models[0];
    expect(ir.layers.filter((l) => l.kind === "peer")).toHaveLength(1);
    expect(ir.layers.filter((l) => l.kind === "attention")).toHaveLength(3);

    const out = fs.mkdtempSync(path.join(os.tmpdir(), "quality-"));
    const lines: string[] = [];
    const io: TrainIO = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
    // Validation over the whole split (about 320 windows): once after one step, once at the end.
    const argv = ["--backend", "wasm", "--out", out, "--eval-batches", "1000", "--log-every", "50", "--checkpoint-every", "1000"];
    const target = { ir, build: (o: { seed: number; backend: string }) => buildModel(ir, o) };
    const first = await trainMain([...argv, "--steps", "1"], target, io);
    expect(first, lines.join("\n")).toBe(0);
    const startLoss = readMetrics(path.join(out, "metrics.jsonl")).find((r) => r.val_loss !== undefined)?.val_loss as number;
    fs.rmSync(out, { recursive: true, force: true });

    const code = await trainMain([...argv, "--eval-every", "200"], target, io);
    expect(code, lines.join("\n")).toBe(0);
    const records = readMetrics(path.join(out, "metrics.jsonl"));
    const finalVal = records.filter((r) => r.val_loss !== undefined && r.step === 200);
    expect(finalVal).toHaveLength(1);
    const valLoss = finalVal[0].val_loss as number;
    const baseline = unigramBaseline();

    expect(baseline).toBeGreaterThan(2); // bytes of English-like text: about 4 bits
    expect(startLoss).toBeGreaterThan(baseline); // an untrained model is worse than unigram
    expect(valLoss).toBeLessThan(0.75 * baseline);
    fs.rmSync(out, { recursive: true, force: true });
  }, 240_000);
});
