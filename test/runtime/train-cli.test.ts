/**
 * Issue 14's trainer bugs, each driven through trainMain in-process on tiny
 * models (wasm): smoke-run defaults said and the model's context used (6),
 * a resumed run keeps its horizon (13), a corrupt newest checkpoint falls back
 * to an older good one and a divergence says what is true (14), and the small
 * ones (15): memories, one help text, "did you mean", the `--` hint of `peerc train`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { runCli } from "../../compiler/cli/main.js";
import { misplacedTrainerFlags } from "../../compiler/cli/commands/train-flags.js";
import { BACKEND_REQUESTS } from "../../runtime/backend/select.js";
import { TRAINER_BACKENDS, TRAINER_FLAGS } from "../../ir/trainer-flags.js";
import type { IRModel } from "../../ir/types.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain, type TrainTarget } from "../../runtime/train/main.js";
import { checkedModels } from "../emit/helpers.js";
import { ADAMW, denseModel, SPAN } from "./core-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-train-cli-"));
process.env.XDG_CACHE_HOME = path.join(dir, "cache");
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(200));
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

function target(overrides: Partial<IRModel> = {}, optimizer = ADAMW): TrainTarget {
  const ir: IRModel = {
    ...denseModel({ vocab: 256, d: 16, blocks: 1, context: 16 }),
    name: "tiny",
    train: {
      span: SPAN, batch: 4, microBatch: 2, context: 16, horizon: { kind: "steps", steps: 6 },
      optimizer, schedule: { kind: "cosine", warmup: { steps: 1 }, minLr: 0.1 },
      data: { tokenizer: "bytes", path: null, valFraction: 0.1, bpeVocab: null }, seed: 3, evalEvery: 100, checkpointEvery: 3, logEvery: 1,
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

const run = (out: string, ...flags: string[]) => ["--data", corpus, "--backend", "wasm", "--out", out, ...flags];
const trainRecords = (out: string) => readMetrics(path.join(out, "metrics.jsonl")).filter((m) => m.loss !== undefined);

/** A run of `steps` with checkpoints every 3, cut back to its step-3 checkpoint as if interrupted there. */
async function interrupted(name: string, steps: number): Promise<string> {
  const out = path.join(dir, name);
  expect(await trainMain(run(out, "--steps", String(steps)), target(), io().io)).toBe(0);
  for (const entry of fs.readdirSync(out)) if (/^step-/.test(entry) && entry !== "step-000003") fs.rmSync(path.join(out, entry), { recursive: true });
  fs.writeFileSync(path.join(out, "latest"), "step-000003\n");
  return out;
}

describe("no train section (bug 6)", () => {
  const PKM = `
model smoke {
  vocab 256
  context 160
  embed tokens(dim: 16)
  residual { norm rms; pkm(memories: 4^2, heads: 1, topk: 2, key_dim: 8) }
  norm rms
  lm_head tied
}`;

  it("says the defaults, uses the model's context, --context overrides it, and PKM rows are memories (bug 15)", async () => {
    const ir = checkedModels(PKM, "smoke.peer")[0]!;
    expect(ir.train ?? null).toBeNull();
    const t: TrainTarget = { ir, build: (o) => buildModel(ir, o) };
    const r = io();
    expect(await trainMain(run(path.join(dir, "smoke"), "--batch", "1", "--steps", "1", "--eval-batches", "1"), t, r.io)).toBe(0);
    const text = r.out.join("\n");
    expect(text).toMatch(/note: model smoke has no train section; using the defaults \(docs\/runtime\.md, "No train section"\): context 160 \(the model's\), adamw lr 0\.001, cosine schedule, clip 1, seed 1/);
    // The flags given are not listed as defaults.
    expect(text).not.toMatch(/batch 8|100 steps/);
    expect(text).toMatch(/1 step × 1 × 160 tokens/);
    // The evaluation line calls a PKM layer's rows memories, not experts.
    const evalLine = r.err.find((l) => l.startsWith("step 1: val loss"))!;
    expect(evalLine).toMatch(/ \| [\w.]*pkm: \d+\.\d% of 16 memories used, unevenness /);

    const c = io();
    expect(await trainMain(run(path.join(dir, "smoke-ctx"), "--batch", "1", "--steps", "1", "--eval-batches", "1", "--context", "32"), t, c.io)).toBe(0);
    expect(c.out.join("\n")).toMatch(/1 step × 1 × 32 tokens/);
    expect(c.out.join("\n")).not.toMatch(/context 160/);

    const tooLong = io();
    expect(await trainMain(run(path.join(dir, "smoke-long"), "--context", "161"), t, tooLong.io)).toBe(1);
    expect(tooLong.err).toEqual(["error: --context 161 is longer than the model's context, 160"]);
  });
});

describe("resume keeps the interrupted run's horizon (bug 13)", () => {
  it("without --steps it continues the 8-step schedule, not the spec's 6, and says so", async () => {
    const full = path.join(dir, "h-full");
    expect(await trainMain(run(full, "--steps", "8"), target(), io().io)).toBe(0);
    const out = await interrupted("h-cut", 8);
    const r = io();
    expect(await trainMain(run(out, "--resume"), target(), r.io)).toBe(0);
    expect(r.err).toContain("note: continuing the interrupted run's schedule of 8 steps (the spec's horizon is 6 steps; --steps N changes it)");
    expect(r.out.join("\n")).toMatch(/8 steps × 4 × 16 tokens/);
    // The same learning rates and losses as the uninterrupted 8-step run.
    expect(trainRecords(out).map((m) => m.lr)).toEqual(trainRecords(full).map((m) => m.lr));
    expect(trainRecords(out).map((m) => m.loss)).toEqual(trainRecords(full).map((m) => m.loss));
  });

  it("an explicit --steps that differs says how the schedule changes; one not past the checkpoint is refused", async () => {
    const out = await interrupted("h-explicit", 8);
    const r = io();
    expect(await trainMain(run(out, "--resume", "--steps", "10"), target(), r.io)).toBe(0);
    expect(r.err).toContain(
      "note: --steps 10 changes the learning-rate schedule: the interrupted run planned 8 steps, this one 10 steps; from step 4 on the rate follows the new horizon",
    );
    expect(trainRecords(out).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const same = io();
    const again = await interrupted("h-same", 8);
    expect(await trainMain(run(again, "--resume", "--steps", "8"), target(), same.io)).toBe(0);
    expect(same.err.filter((l) => l.startsWith("note:"))).toEqual([]);

    const short = io();
    const cut = await interrupted("h-short", 8);
    expect(await trainMain(run(cut, "--resume", "--steps", "2"), target(), short.io)).toBe(1);
    expect(short.err).toEqual(["error: --steps 2 asks for 2 steps, but the checkpoint is already at step 3: give a horizon past it"]);
  });
});

describe("faults in a run (bug 14)", () => {
  it("a corrupt newest checkpoint: resume falls back to the newest good one, says so, and keeps the corrupt one", async () => {
    const full = path.join(dir, "f-full");
    expect(await trainMain(run(full, "--steps", "6"), target(), io().io)).toBe(0);
    const out = path.join(dir, "f-corrupt");
    expect(await trainMain(run(out, "--steps", "6"), target(), io().io)).toBe(0);
    fs.writeFileSync(path.join(out, "step-000006", "state.json"), "");
    const r = io();
    expect(await trainMain(run(out, "--steps", "6", "--resume"), target(), r.io)).toBe(0);
    const corrupt = path.join(out, "step-000006");
    expect(r.err).toContain(
      `warning: skipping checkpoint ${corrupt}: ${path.join(corrupt, "state.json")}: unreadable (Unexpected end of JSON input); kept as ${corrupt}.corrupt for inspection`,
    );
    expect(r.err).toContain(`resuming from the newest checkpoint that verifies, ${path.join(out, "step-000003")}`);
    expect(r.out.join("\n")).toMatch(/resumed from .*step-000003 at step 3/);
    // Kept byte for byte under its new name, and the run re-saved a good step 6.
    expect(fs.readFileSync(path.join(`${corrupt}.corrupt`, "state.json"), "utf8")).toBe("");
    expect(JSON.parse(fs.readFileSync(path.join(corrupt, "state.json"), "utf8")).step).toBe(6);
    expect(trainRecords(out).map((m) => m.loss)).toEqual(trainRecords(full).map((m) => m.loss));
  });

  it("no checkpoint verifies: the newest one's problem, and nothing is moved", async () => {
    const out = path.join(dir, "f-none");
    expect(await trainMain(run(out, "--steps", "3"), target(), io().io)).toBe(0);
    fs.writeFileSync(path.join(out, "step-000003", "state.json"), "{}");
    const r = io();
    expect(await trainMain(run(out, "--resume"), target(), r.io)).toBe(1);
    expect(r.err).toEqual([`error: ${path.join(out, "step-000003", "state.json")}: incomplete state: missing specHash, model, step, tokensSeen, data, optimizerStep`]);
    expect(fs.existsSync(path.join(out, "step-000003"))).toBe(true);
  });

  function poisoned(base: TrainTarget): TrainTarget {
    return {
      ir: base.ir,
      build: (o) => {
        const model = buildModel(base.ir, o);
        const layer = model.layers.find((l) => l.path === "blocks.0.ff.ffw")!;
        const original = layer.apply.bind(layer);
        let calls = 0;
        // From the 2nd training micro-batch on, this layer outputs NaN: step 1 diverges.
        (layer as { apply: typeof layer.apply }).apply = (x, ctx) => (ctx.training && ++calls > 1 ? tf.mul(original(x, ctx), Number.NaN) : original(x, ctx));
        return model;
      },
    };
  }

  it("divergence before the first checkpoint says there is none, and with clipping on only advises the learning rate", async () => {
    const r = io();
    expect(await trainMain(run(path.join(dir, "f-nan"), "--steps", "6"), poisoned(target()), r.io)).toBe(1);
    const message = r.err.join("\n");
    expect(message).toMatch(/^error: training diverged at step 1: loss is NaN; /);
    expect(message).toContain("Gradient clipping is on (global norm 1), so lower the learning rate (0.003).");
    expect(message).toContain("No checkpoint was written yet (the first is due at step 3); the run starts over.");
    expect(message).not.toMatch(/last good checkpoint|enable/i);
  });

  it("without clipping it advises enabling it", async () => {
    const r = io();
    expect(await trainMain(run(path.join(dir, "f-nan-noclip"), "--steps", "6"), poisoned(target({}, { ...ADAMW, clip: null })), r.io)).toBe(1);
    expect(r.err.join("\n")).toContain("Lower the learning rate (0.003) or enable gradient clipping (adamw(…, clip: 1.0)).");
  });
});

describe("flags (bug 15, issue 9)", () => {
  it("the usage after an error is the --help text; unknown flags get a did-you-mean", async () => {
    const help = io();
    expect(await trainMain(["--help"], target(), help.io)).toBe(0);
    const text = help.out.join("\n");
    for (const f of TRAINER_FLAGS) expect(text).toContain(`--${f.name}`);
    expect(text).toMatch(/--steps N +optimizer steps .* \(default: 6\) \(not with --tokens\)/);
    expect(text).toMatch(/--context N +tokens per training sequence .* \(default: 16\)/);

    const typo = io();
    expect(await trainMain(["--stpes", "3"], target(), typo.io)).toBe(2);
    expect(typo.err[0]).toBe("error: unknown flag --stpes (did you mean --steps?)");
    expect(typo.err.slice(1).join("\n")).toBe(text);

    const unknown = io();
    expect(await trainMain(["--bogus"], target(), unknown.io)).toBe(2);
    expect(unknown.err[0]).toBe("error: unknown flag --bogus");
  });

  it("a name or data path with terminal escapes is shown escaped in the help and at start", async () => {
    const base = target();
    const name = "evil\x1b]0;retitled\x07";
    const hostile: TrainTarget = { ...base, ir: { ...base.ir, name, train: { ...base.ir.train!, data: { ...base.ir.train!.data, path: "data\x1b[8m.txt" } } } };
    const help = io();
    expect(await trainMain(["--help"], hostile, help.io)).toBe(0);
    const r = io();
    expect(await trainMain(run(path.join(dir, "hostile"), "--steps", "1"), hostile, r.io)).toBe(0);
    const shown = [...help.out, ...r.out, ...r.err].join("\n");
    expect(shown).not.toContain("\x1b");
    expect(shown).not.toContain("\x07");
    expect(help.out.join("\n")).toContain('Trains "evil\\u001b]0;retitled\\u0007"');
    expect(help.out.join("\n")).toContain("default: the spec's data file (relative to the spec's folder) (default: data\\x1b[8m.txt)");
    expect(r.out.join("\n")).toContain("model evil\\x1b]0;retitled\\x07: ");
  });

  it("the flag table's backends are the runtime's", () => {
    expect([...TRAINER_BACKENDS]).toEqual([...BACKEND_REQUESTS]);
  });

  it("`peerc train FILE --steps 3` says trainer flags go after --", async () => {
    let stderr = "";
    const cliIO = { cwd: REPO, env: {}, stdout: () => undefined, stderr: (s: string) => void (stderr += s), stdin: () => "" } as unknown as Parameters<typeof runCli>[1];
    expect(await runCli(["train", "specs/tiny.peer", "--steps", "3"], cliIO)).toBe(2);
    expect(stderr).toBe("peerc: --steps is a trainer flag: put trainer flags after --, as in: peerc train specs/tiny.peer -- --steps 3\n");
    // peerc's own options stay in front, flag values move with their flags, flags already after -- stay.
    expect(misplacedTrainerFlags(["train", "a b.peer", "-m", "tiny", "--resume", "--steps", "3", "--", "--out", "runs/x"])).toBe(
      "--resume is a trainer flag: put trainer flags after --, as in: peerc train 'a b.peer' -m tiny -- --resume --steps 3 --out runs/x",
    );
    expect(misplacedTrainerFlags(["train", "f.peer", "--model", "m", "--", "--steps", "3"])).toBeNull();
    expect(misplacedTrainerFlags(["train", "f.peer", "-t", "torch", "--steps", "3"])).toBe(
      "--steps is a trainer flag: put trainer flags after --, as in: peerc train f.peer -t torch -- --steps 3",
    );
    expect(misplacedTrainerFlags(["report", "f.peer", "--steps", "3"])).toBeNull();
  });
});
