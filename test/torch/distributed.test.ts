/**
 * Data parallel and row-sharded expert tables of the torch target, on the CPU
 * with gloo at 2 ranks (started by train.py --nproc 2, the static rendezvous
 * torchrun uses; Debian's torch 1.13 torchrun fails under Python 3.11):
 *   - 2 ranks equal 1 process with the same global batch (each rank takes its
 *     half of every micro-batch; gradients are averaged with all_reduce);
 *   - a 2-rank run killed (SIGKILL) after its step-3 checkpoint and resumed equals
 *     the uninterrupted one, resumed by 2 ranks or by 1;
 *   - PEER tables sharded by rows (all_to_all of ids, rows and row gradients)
 *     equal replicated tables.
 * The spec has LayerNorm queries: batch-norm statistics are per rank (no SyncBN).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { emitTorchModelTrainer } from "../../targets/torch/index.js";
import { findTorchPython } from "../../targets/torch/python-env.js";
import { writeOutputs } from "../../compiler/emit/write.js";
import { checkedModels, tempDir } from "../emit/helpers.js";

const { found, tried } = findTorchPython();
const REASON = found === null ? ` (skipped: no python3 with torch: ${tried.join("; ")})` : "";

const SPEC = `
model dp {
  vocab 256
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 4, head_dim: 8, causal) }
  residual { norm rms; peer(experts: 16^2, heads: 2, topk: 4, key_dim: 16, act: gelu, query_norm: layer) }
  norm rms
  lm_head tied
}
train dp {
  batch 8
  micro_batch 4
  steps 6
  optimizer adamw(lr: 1e-2, weight_decay: 0.1, clip: 1.0, expert_lr: 3e-2)
  schedule cosine(warmup: 2, min_lr: 10%)
  data bytes(val: 10%)
  eval_every 3
  checkpoint_every 3
  log_every 1
}`;

const dir = tempDir("peerc-torch-dp-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, Array.from({ length: 3000 }, (_, i) => `${["the", "cat", "owl", "sat", "on", "a", "mat"][(i * 7) % 7]} ${(i * 7919) % 97}`).join(" "));
const folder = path.join(dir, "dp");
if (found) {
  const model = checkedModels(SPEC)[0]!;
  writeOutputs(folder, [...emitTorchModelTrainer(model, { specFile: path.join(dir, "spec.peer"), outDir: folder })].map(([name, text]) => ({ name, text })));
}

function train(out: string, extra: string[], env: Record<string, string> = {}): { status: number; stdout: string } {
  const r = spawnSync(found!.python, [path.join(folder, "train.py"), "--data", corpus, "--out", path.join(dir, out), "--threads", "1", ...extra], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, OMP_NUM_THREADS: "1", ...env },
  });
  if (r.status !== 0 && !env.PEERC_TEST_KILL_AFTER_STEP) throw new Error(`train.py ${extra.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { status: r.status ?? -1, stdout: r.stdout };
}

/** Training and validation losses by step, from metrics.jsonl. */
function losses(out: string): { train: number[]; val: number[] } {
  const records = fs.readFileSync(path.join(dir, out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { loss?: number; val_loss?: number });
  return { train: records.flatMap((r) => (r.loss === undefined ? [] : [r.loss])), val: records.flatMap((r) => (r.val_loss === undefined ? [] : [r.val_loss])) };
}

function expectClose(a: number[], b: number[], tol: number): void {
  expect(a).toHaveLength(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]!), `entry ${i}: ${x} vs ${b[i]}`).toBeLessThan(tol));
}

describe.skipIf(found === null)(`torch train.py user errors${REASON}`, () => {
  it("prints one error line and exits 1 or 2, never a traceback", () => {
    const cases: [string[], number, string][] = [
      [["--bogus"], 2, 'error: unknown option "--bogus"'],
      [["--steps", "0"], 2, "error: --steps must be a positive integer"],
      [["--init-from", path.join(dir, "missing.safetensors")], 1, "missing.safetensors: cannot be read"],
      [["--init-from", corpus], 1, "not a safetensors file"],
      [["--resume"], 2, "error: --resume: no checkpoint in"],
    ];
    for (const [args, code, message] of cases) {
      const r = spawnSync(found!.python, [path.join(folder, "train.py"), "--data", corpus, "--out", path.join(dir, "errors"), ...args], { encoding: "utf8" });
      expect(r.status, args.join(" ")).toBe(code);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("Traceback");
    }
  });
});

describe.skipIf(found === null)(`torch target on 2 gloo ranks${REASON}`, () => {
  it("2 ranks equal 1 process with the same global batch", () => {
    train("one", []);
    train("two", ["--nproc", "2"]);
    const one = losses("one");
    expect(one.train).toHaveLength(6);
    expect(one.train[5]!).toBeLessThan(one.train[0]!);
    expectClose(losses("two").train, one.train, 1e-5);
    expectClose(losses("two").val, one.val, 1e-5);
  });

  it("a 2-rank run killed after a checkpoint and resumed (by 2 ranks or 1) equals the uninterrupted run", () => {
    expect(train("killed", ["--nproc", "2"], { PEERC_TEST_KILL_AFTER_STEP: "4" }).status).not.toBe(0);
    expect(fs.readFileSync(path.join(dir, "killed", "latest"), "utf8").trim()).toBe("step-000003");
    fs.cpSync(path.join(dir, "killed"), path.join(dir, "killed1"), { recursive: true });
    train("killed", ["--nproc", "2", "--resume"]);
    train("killed1", ["--resume"]);
    const whole = losses("one");
    expectClose(losses("killed").train, whole.train, 1e-5);
    expectClose(losses("killed1").train, whole.train, 1e-5);
  });

  it("PEER tables sharded by rows over 2 ranks equal replicated tables", () => {
    const { stdout } = train("sharded", ["--nproc", "2", "--shard-tables", "--export", path.join(dir, "sharded-export")]);
    expect(stdout).toContain("peer.experts.u: sharded by rows over 2 ranks, rank 0 holds 128 of 256 rows");
    train("replicated", ["--nproc", "2", "--export", path.join(dir, "replicated-export")]);
    expectClose(losses("sharded").train, losses("replicated").train, 1e-5);
    const a = fs.readFileSync(path.join(dir, "sharded-export", "weights.safetensors"));
    const b = fs.readFileSync(path.join(dir, "replicated-export", "weights.safetensors"));
    expect(a.length).toBe(b.length);
    const fa = new Float32Array(a.buffer, a.byteOffset + 8 + Number(a.readBigUInt64LE(0)));
    const fb = new Float32Array(b.buffer, b.byteOffset + 8 + Number(b.readBigUInt64LE(0)));
    let worst = 0;
    for (let i = 0; i < fa.length; i++) worst = Math.max(worst, Math.abs(fa[i]! - fb[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
});
