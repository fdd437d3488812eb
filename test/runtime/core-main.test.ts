/**
 * trainMain end to end on a tiny model and a small text file (wasm): first
 * line names the backend, metrics and checkpoints are written, a resumed run
 * continues exactly, and user errors are one-line messages with exit code 1/2.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import type { IRModel } from "../../ir/types.js";
import { SafetensorsFile } from "../../runtime/checkpoint/index.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain, type TrainTarget } from "../../runtime/train/main.js";
import { ADAMW, denseModel, SPAN } from "./core-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-core-main-"));
process.env.XDG_CACHE_HOME = path.join(dir, "cache");
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(200));

function target(overrides: Partial<IRModel> = {}): TrainTarget {
  const ir: IRModel = {
    ...denseModel({ vocab: 256, d: 16, blocks: 1, context: 16 }),
    name: "tiny",
    train: {
      span: SPAN, batch: 4, microBatch: 2, context: 16, horizon: { kind: "steps", steps: 6 },
      optimizer: ADAMW, schedule: { kind: "cosine", warmup: { steps: 1 }, minLr: 0.1 },
      data: { tokenizer: "bytes", path: null, valFraction: 0.1, bpeVocab: null }, seed: 3, evalEvery: 3, checkpointEvery: 3, logEvery: 1,
    },
    ...overrides,
  };
  return { ir, build: (o) => buildModel(ir, o) };
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("trainMain", () => {
  it("trains, logs, checkpoints, and a resumed run reproduces the uninterrupted one", async () => {
    const full = io();
    const runA = path.join(dir, "a");
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runA, "--steps", "6"], target(), full.io)).toBe(0);
    expect(full.out[0]).toMatch(/^backend: wasm \(1 thread, SIMD\)/);
    const metricsA = readMetrics(path.join(runA, "metrics.jsonl"));
    const lossesA = metricsA.filter((m) => m.loss !== undefined).map((m) => m.loss);
    expect(lossesA).toHaveLength(6);
    expect(metricsA.some((m) => typeof m.val_bpb === "number" && m.val_bpb > 0)).toBe(true);
    expect(fs.existsSync(path.join(runA, "loss.svg"))).toBe(true);

    // The same run interrupted after its step-3 checkpoint, then resumed to 6.
    const runC = path.join(dir, "c");
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runC, "--steps", "6", "--checkpoint-every", "3"], target(), io().io)).toBe(0);
    fs.rmSync(path.join(runC, "step-000006"), { recursive: true, force: true });
    fs.writeFileSync(path.join(runC, "latest"), "step-000003\n");
    // metrics.jsonl still holds steps 4-6 of the interrupted run: the resumed run must replace them, not repeat them.
    const resumed = io();
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", runC, "--steps", "6", "--resume"], target(), resumed.io)).toBe(0);
    expect(resumed.out.join("\n")).toMatch(/resumed from .*step-000003 at step 3/);
    const metricsC = readMetrics(path.join(runC, "metrics.jsonl")).filter((m) => m.loss !== undefined);
    expect(metricsC.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metricsC.map((m) => m.loss)).toEqual(lossesA);
    // The plot covers the whole run: 6 train points, the first from before the resume.
    const svg = fs.readFileSync(path.join(runC, "loss.svg"), "utf8");
    const trainLine = svg.match(/<polyline[^>]*points="([^"]*)"/)?.[1] ?? "";
    expect(trainLine.trim().split(/\s+/)).toHaveLength(6);
  });

  it("--val-data validates on another file and --export writes the weights by name", async () => {
    const valFile = path.join(dir, "val.txt");
    fs.writeFileSync(valFile, "pack my box with five dozen liquor jugs. ".repeat(20));
    const exported = path.join(dir, "export");
    const r = io();
    const args = ["--data", corpus, "--val-data", valFile, "--backend", "wasm", "--out", path.join(dir, "e"), "--steps", "2", "--export", exported];
    expect(await trainMain(args, target(), r.io)).toBe(0);
    const file = SafetensorsFile.open(path.join(exported, "weights.safetensors"));
    expect(file.names()).toContain("blocks.0.mix.attention.wq");
    expect(file.info("embed.weight").shape).toEqual([256, 16]);
    file.close();
    const val = readMetrics(path.join(dir, "e", "metrics.jsonl")).filter((m) => m.val_loss !== undefined);
    expect(val).toHaveLength(1);
  });

  it("bad flags print usage with exit code 2", async () => {
    const r = io();
    expect(await trainMain(["--steps", "zero"], target(), r.io)).toBe(2);
    expect(r.err[0]).toBe('error: --steps must be a positive integer, got "zero"');
    const r2 = io();
    expect(await trainMain(["--bogus"], target(), r2.io)).toBe(2);
    expect(r2.err[0]).toBe("error: unknown flag --bogus");
  });

  it("a missing data file is one line naming the file, exit code 1", async () => {
    const r = io();
    expect(await trainMain(["--data", path.join(dir, "nope.txt"), "--backend", "wasm", "--out", path.join(dir, "d")], target(), r.io)).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^error: .*nope\.txt: /);
  });

  it("a missing data file named by the spec says so, relative to the spec's folder", async () => {
    const base = target();
    const fromSpec: TrainTarget = {
      ...base,
      ir: { ...base.ir, train: { ...base.ir.train!, data: { ...base.ir.train!.data, path: "corpora/missing.txt" } } },
      dataBase: dir,
    };
    const r = io();
    expect(await trainMain(["--backend", "wasm", "--out", path.join(dir, "spec-data")], fromSpec, r.io)).toBe(1);
    expect(r.err).toEqual([
      `error: ${path.join(dir, "corpora/missing.txt")}: data file not found (named by the spec's \`data\` line as "corpora/missing.txt", relative to the spec's folder; --data FILE trains on another file)`,
    ]);
  });

  it("--resume with a checkpoint of another spec is refused", async () => {
    const r = io();
    const other = target({ hash: "f".repeat(64) });
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", path.join(dir, "a"), "--resume"], other, r.io)).toBe(1);
    expect(r.err[0]).toMatch(/spec hash/);
  });

  it("a diverging run stops with the layer's name and keeps the last good checkpoint", async () => {
    const base = target();
    const poisoned: TrainTarget = {
      ir: base.ir,
      build: (o) => {
        const model = buildModel(base.ir, o);
        const layer = model.layers.find((l) => l.path === "blocks.0.ff.ffw")!;
        const original = layer.apply.bind(layer);
        let calls = 0;
        // From the 4th training micro-batch on, this layer outputs NaN.
        (layer as { apply: typeof layer.apply }).apply = (x, ctx) => (ctx.training && ++calls > 6 ? tf.mul(original(x, ctx), Number.NaN) : original(x, ctx));
        return model;
      },
    };
    const out = path.join(dir, "nan");
    const r = io();
    expect(await trainMain(["--data", corpus, "--backend", "wasm", "--out", out, "--steps", "6", "--checkpoint-every", "3"], poisoned, r.io)).toBe(1);
    expect(r.err.join("\n")).toMatch(/training diverged at step 4: loss is NaN/);
    expect(r.err.join("\n")).toContain(`The last good checkpoint, step 3 (${path.join(out, "step-000003")}), was kept: --resume continues from it.`);
    expect(fs.readFileSync(path.join(out, "latest"), "utf8").trim()).toBe("step-000003");
  });
});
