/**
 * The trainer's statistics on webgpu (lavapipe), as on wasm: MFU on every
 * progress line and in metrics.jsonl (the matmul-peak probe reads
 * asynchronously, once, before the first step), and expert usage in the
 * validation lines (the routing records are read in the background and
 * settled after the evaluation). specs/tiny.peer through trainMain with the
 * cost model's FLOPs per token, as a compiled trainer passes them. One webgpu
 * trainer per process (vitest runs each file in its own worker).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/check/index.js";
import { costModel } from "../../compiler/cost/index.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { noAdapter, skipNote } from "./adapter.js";

const repo = path.resolve(import.meta.dirname, "../..");

describe.skipIf(noAdapter !== null)(`trainer statistics on webgpu${skipNote}`, () => {
  afterAll(() => shutdownWebGpu());

  it("progress lines carry MFU and validation lines expert usage, from the device with awaited reads", async () => {
    const spec = path.join(repo, "specs/tiny.peer");
    const checked = checkFiles([spec], { readFile: (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined) });
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const ir = checked.program.models[0]!;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-webgpu-stats-"));
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const flags = ["--backend", "webgpu", "--out", out, "--steps", "2", "--batch", "2", "--context", "32", "--seed", "5", "--eval-every", "2", "--eval-batches", "1", "--log-every", "1"];
    const code = await trainMain(flags, { ir, dataBase: repo, build: (o) => buildModel(ir, o), forwardFlopsPerToken: costModel(ir).totals.flopsPerToken.forward }, io);
    expect(code, lines.join("\n")).toBe(0);
    expect(lines[0]).toMatch(/^backend: webgpu /);
    const steps = readMetrics(path.join(out, "metrics.jsonl")).filter((m) => m.loss !== undefined);
    expect(steps).toHaveLength(2);
    for (const m of steps) expect(m.mfu as number).toBeGreaterThan(0);
    const progress = lines.filter((l) => /\| MFU /.test(l));
    expect(progress.length).toBeGreaterThan(0);
    for (const l of progress) expect(l).toMatch(/\| MFU \d+(\.\d+)?% /);
    const validation = lines.find((l) => /^step 2: val loss/.test(l));
    expect(validation).toMatch(/\| blocks\.1\.peer: \d+\.\d% of 4,096 experts used, unevenness \d+\.\d\d/);
    const val = readMetrics(path.join(out, "metrics.jsonl")).find((m) => m.val_loss !== undefined)!;
    const usage = (val.expert_usage as { path: string; usage: number; numExperts: number }[])[0]!;
    expect(usage.path).toBe("blocks.1.peer");
    expect(usage.numExperts).toBe(4096);
    // One eval batch of 2 × 32 tokens, h·k slots each: at most that many of the 4,096 experts are used.
    const peer = ir.layers.find((l) => l.kind === "peer")!;
    const slots = peer.kind === "peer" ? peer.heads * peer.topk : 0;
    expect(usage.usage).toBeGreaterThan(0);
    expect(usage.usage * 4096).toBeLessThanOrEqual(2 * 32 * slots);
  });
});
