/**
 * Checkpoints across targets: a TypeScript run's step-3 checkpoint resumed by
 * the torch trainer, and a torch run's step-3 checkpoint resumed by the
 * TypeScript trainer, continue exactly like the uninterrupted run of the
 * other target (same spec, same seed, same data; losses of steps 4–6).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { emitTorchModelTrainer } from "../../targets/torch/index.js";
import { findTorchPython } from "../../targets/torch/python-env.js";
import { writeOutputs } from "../../compiler/emit/write.js";
import { checkedModels, tempDir } from "../emit/helpers.js";

const { found, tried } = findTorchPython();
const REASON = found === null ? ` (skipped: no python3 with torch: ${tried.join("; ")})` : "";

const SPEC = `
model ck {
  vocab 256
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; peer(experts: 8^2, heads: 2, topk: 3, key_dim: 8, act: gelu, query_norm: batch) }
  norm rms
  lm_head tied
}
train ck {
  batch 4
  steps 6
  optimizer adamw(lr: 1e-2, weight_decay: 0.1, clip: 1.0, expert_lr: 3e-2)
  schedule cosine(warmup: 2, min_lr: 10%)
  data bytes(val: 10%)
  eval_every 1000
  checkpoint_every 3
  log_every 1
}`;

const dir = tempDir("peerc-torch-ckpt-");
process.env.XDG_CACHE_HOME = path.join(dir, "cache");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, Array.from({ length: 2000 }, (_, i) => `${["the", "cat", "owl", "sat"][i % 4]} ${(i * 7919) % 97}`).join(" "));
const model = checkedModels(SPEC)[0]!;
const folder = path.join(dir, "torch");
if (found) writeOutputs(folder, [...emitTorchModelTrainer(model, { specFile: path.join(dir, "spec.peer"), outDir: folder })].map(([n, text]) => ({ name: n, text })));

async function tsTrain(out: string, extra: string[]): Promise<string> {
  const lines: string[] = [];
  const code = await trainMain(["--data", corpus, "--out", path.join(dir, out), "--backend", "cpu", ...extra], { ir: model, build: (o) => buildModel(model, o) }, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  expect(code, lines.join("\n")).toBe(0);
  return lines.join("\n");
}

function torchTrain(out: string, extra: string[]): string {
  const r = spawnSync(found!.python, [path.join(folder, "train.py"), "--data", corpus, "--out", path.join(dir, out), "--threads", "1", ...extra], { encoding: "utf8" });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

/** step → training loss from metrics.jsonl. */
function losses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of fs.readFileSync(path.join(dir, out, "metrics.jsonl"), "utf8").trim().split("\n")) {
    const r = JSON.parse(line) as { step: number; loss?: number };
    if (r.loss !== undefined) m.set(r.step, r.loss);
  }
  return m;
}

/** A copy of a run folder as if it had been interrupted right after its step-3 checkpoint. */
function interrupted(from: string, to: string): void {
  fs.cpSync(path.join(dir, from), path.join(dir, to), { recursive: true });
  fs.rmSync(path.join(dir, to, "step-000006"), { recursive: true, force: true });
  fs.writeFileSync(path.join(dir, to, "latest"), "step-000003\n");
}

function expectSameTail(a: Map<number, number>, b: Map<number, number>): void {
  for (const step of [4, 5, 6]) expect(Math.abs(a.get(step)! - b.get(step)!), `step ${step}: ${a.get(step)} vs ${b.get(step)}`).toBeLessThan(1e-5);
}

describe.skipIf(found === null)(`checkpoints across targets${REASON}`, () => {
  it("the torch trainer resumes a TypeScript checkpoint", async () => {
    await tsTrain("ts", []);
    interrupted("ts", "ts-then-torch");
    expect(torchTrain("ts-then-torch", ["--resume"])).toMatch(/resumed from .*step-000003 at step 3/);
    expectSameTail(losses("ts-then-torch"), losses("ts"));
  });

  it("the TypeScript trainer resumes a torch checkpoint", async () => {
    torchTrain("torch", []);
    interrupted("torch", "torch-then-ts");
    expect(await tsTrain("torch-then-ts", ["--resume"])).toMatch(/resumed from .*step-000003 at step 3/);
    expectSameTail(losses("torch-then-ts"), losses("torch"));
  });
});
