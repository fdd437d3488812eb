/**
 * The emitted train.ts end to end, in-process: --help prints the spec's
 * defaults; a 2-step run trains through the runtime's trainMain with the
 * emitted model, and --export DIR writes weights.safetensors plus
 * architecture.json (the IR without spans).
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { emitTrainer } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { architectureOf } from "../../compiler/emit/architecture.js";
import { costModel } from "../../compiler/cost/index.js";
import { SafetensorsFile } from "../../runtime/checkpoint/index.js";
import { architectureJson } from "../../runtime/train/export.js";
import { checkedModels, ROOT, tempDir } from "./helpers.js";

const SPEC = `
model small {
  vocab 256
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; ffw(hidden: 64, act: gelu) }
  norm rms
  lm_head tied
}

train small {
  batch 2
  steps 7
  optimizer adamw(lr: 1e-3)
  data bytes(val: 10%)
  eval_every 1000
  log_every 1
  checkpoint_every 1000
}
`;

const root = tempDir("peerc-trainer-");
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs the emitted train.ts as if by `node train.js …args`; returns what it printed. */
let runs = 0;
async function runTrainer(outDir: string, args: string[]): Promise<{ stdout: string; code: number | undefined }> {
  // A module runs once per name: each run imports its own copy of train.ts.
  const script = path.join(outDir, `train-run-${++runs}.ts`);
  fs.copyFileSync(path.join(outDir, "train.ts"), script);
  const argv = process.argv;
  const write = process.stdout.write.bind(process.stdout);
  let stdout = "";
  process.argv = [argv[0]!, path.join(outDir, "train.ts"), ...args];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  const before = process.exitCode;
  try {
    await import(pathToFileURL(script).href);
    return { stdout, code: process.exitCode as number | undefined };
  } finally {
    process.argv = argv;
    process.stdout.write = write;
    process.exitCode = before;
  }
}

describe("emitted trainer", () => {
  const model = checkedModels(SPEC, "small.peer")[0]!;
  const outDir = path.join(root, "small");
  fs.mkdirSync(outDir);
  const ctx = emitContext(model, costModel(model), {
    specFile: path.join(root, "small.peer"),
    outDir,
    runtimeImport: path.join(ROOT, "runtime/index.ts"),
  });
  for (const [name, text] of emitTrainer(ctx)) fs.writeFileSync(path.join(outDir, name), text);

  it("--help lists the flags with the spec's defaults", async () => {
    const { stdout, code } = await runTrainer(outDir, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--steps N\s+optimizer steps .*\(default: 7\)/);
    expect(stdout).toMatch(/--batch N\s+sequences per optimizer step \(default: 2\)/);
    expect(stdout).toContain("--export DIR");
  });

  it("trains and exports weights plus the architecture", async () => {
    const run = path.join(root, "run");
    const exported = path.join(root, "export");
    const { code } = await runTrainer(outDir, ["--steps", "2", "--backend", "wasm", "--out", run, "--export", exported]);
    expect(code).toBe(0);
    const metrics = fs.readFileSync(path.join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step?: number; loss?: number });
    expect(metrics.filter((m) => m.loss !== undefined).map((m) => m.step)).toEqual([1, 2]);
    const architecture = JSON.parse(fs.readFileSync(path.join(exported, "architecture.json"), "utf8")) as unknown;
    expect(architecture).toEqual(JSON.parse(architectureJson(architectureOf(model))));
    const weights = SafetensorsFile.open(path.join(exported, "weights.safetensors"));
    try {
      const names = weights.names();
      expect(names).toContain("embed.weight");
      expect(names.some((n) => n.endsWith(".ffw.w_in") || n === "ffw.w_in")).toBe(true);
      let total = 0;
      for (const n of names) total += weights.info(n).shape.reduce((a, b) => a * b, 1);
      expect(BigInt(total)).toBe(costModel(model).totals.params);
    } finally {
      weights.close();
    }
  }, 120_000);
});
