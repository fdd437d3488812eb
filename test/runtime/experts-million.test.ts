/**
 * The paper's pool of 1024^2 = 1,048,576 experts trains, at reduced width so
 * it fits a test (u and v are 2 × 1M × 16 floats, 128 MiB, plus their Adam
 * moments); the full-width model is bench/peer-lm.ts. Asserts that a training
 * step never holds a dense N × d tensor in tfjs, that only retrieved rows
 * move, and that the loss goes down.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { buildModel, Trainer } from "../../runtime/index.js";
import type { PeerRuntimeLayer } from "../../kinds/peer/runtime.js";
import { builtinCorpus } from "../../runtime/data/index.js";
import { useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

const SPEC = `
model million {
  vocab 256
  context 32
  embed tokens(dim: 16)
  residual {
    norm rms
    peer(experts: 1024^2, heads: 2, topk: 4, key_dim: 16, query_norm: layer)
  }
  norm rms
  lm_head tied
}

train million {
  batch 8
  steps 30
  optimizer adamw(lr: 3e-3, expert_lr: 3e-2)
  schedule constant(warmup: 0)
}
`;

describe("a PEER model with 1024^2 experts (width 16)", () => {
  it("trains with row-sparse updates and no dense N × d tensor", async () => {
    const result = checkSource("million.peer", SPEC);
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const ir = result.program.models[0]!;
    const model = buildModel(ir, { seed: 3, backend: "wasm" });
    const peer = model.layers.find((l) => l.kind === "peer") as PeerRuntimeLayer;
    const N = 1024 * 1024;
    const d = 16;
    expect(peer.down.rows).toBe(N);
    expect(peer.up.cols).toBe(d);

    const corpus = builtinCorpus();
    let offset = 0;
    const data = {
      next: () => {
        const n = 8 * 32;
        const inputs = Int32Array.from(corpus.subarray(offset, offset + n));
        const targets = Int32Array.from(corpus.subarray(offset + 1, offset + n + 1));
        offset = (offset + 4099) % (corpus.length - n - 1);
        return { rows: 8, context: 32, inputs, targets };
      },
    };
    const train = ir.train!;
    const trainer = new Trainer(model, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 30, microBatches: 1 }, data);

    const before = { u: peer.down.table.slice(), v: peer.up.table.slice() };
    // One profiled step: the largest tfjs allocation must stay far below one N × d table.
    const profile = await tf.profile(() => void trainer.step());
    const denseTableBytes = N * d * 4;
    expect(profile.peakBytes).toBeLessThan(denseTableBytes / 4);

    // Rows never retrieved are bit-identical (no weight decay without decay_all); retrieved rows moved.
    let changed = 0;
    for (let row = 0; row < N; row++) {
      let same = true;
      for (let c = 0; c < d; c++) {
        if (peer.down.table[row * d + c] !== before.u[row * d + c] || peer.up.table[row * d + c] !== before.v[row * d + c]) {
          same = false;
          break;
        }
      }
      if (!same) changed++;
    }
    const retrievals = 8 * 32 * 2 * 4; // tokens · heads · k
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThanOrEqual(retrievals);

    const losses: number[] = [];
    for (let i = 0; i < 29; i++) losses.push(trainer.step().crossEntropy);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.3);
    model.dispose();
  });
});
