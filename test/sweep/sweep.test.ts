/**
 * `peerc sweep` end to end on three tiny variants (a dense model, PEER at N = 16
 * and N = 64) at a tiny FLOP budget: the CLI runs in a child process that
 * kills itself (SIGKILL) right after recording its first variant
 * (PEERC_SWEEP_CRASH_AFTER), then the same command resumes: the recorded
 * variant is not rerun, the other two are trained. results.json validates
 * against the published schema (ajv), the steps are the cost model's, and the
 * plots hold one series per method.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { Ajv2020 } from "ajv/dist/2020.js";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";

const repo = path.resolve(import.meta.dirname, "../..");
const spec = path.join(repo, "test/sweep/fixtures/three.peer");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-sweep-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const out = path.join(root, "sweep");
const BUDGET = "2e7";

function sweep(env: Record<string, string> = {}): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(repo, "test/cost/peerc-cli.mjs"), "sweep", spec, "--flops-budget", BUDGET, "-o", out],
    { cwd: repo, encoding: "utf8", env: { ...process.env, PEERC_CACHE: path.join(root, "cache"), ...env } },
  );
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

const series = (svg: string): string[] => [...svg.matchAll(/<g class="series" data-method="([^"]*)">/g)].map((m) => m[1]!);

describe("peerc sweep", () => {
  it("trains three variants at one budget, resumes after a kill between variants without rerunning the finished one", () => {
    const killed = sweep({ PEERC_SWEEP_CRASH_AFTER: "1" });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const recordsAfterKill = fs.readdirSync(path.join(out, "variants")).filter((f) => f.endsWith(".json"));
    expect(recordsAfterKill).toHaveLength(1);
    const firstRecord = path.join(out, "variants", recordsAfterKill[0]!);
    const firstText = fs.readFileSync(firstRecord, "utf8");
    const firstMtime = fs.statSync(firstRecord).mtimeMs;
    const partial = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
    expect(partial.variants.map((v: { name: string }) => v.name)).toEqual(["dense"]);
    expect(partial.missing).toEqual(["peer[experts=16]", "peer[experts=64]"]);

    const resumed = sweep();
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/\[1\/3\] dense: done earlier \([0-9.]+ bits\/byte\), not rerun/);
    expect(resumed.stderr).not.toMatch(/\[1\/3\] dense: \d+ steps/);
    expect(resumed.stderr).toMatch(/\[2\/3\] peer\[experts=16\]: \d+ steps/);
    expect(resumed.stderr).toMatch(/\[3\/3\] peer\[experts=64\]: \d+ steps/);
    expect(fs.readFileSync(firstRecord, "utf8")).toBe(firstText);
    expect(fs.statSync(firstRecord).mtimeMs).toBe(firstMtime);
    expect(fs.readdirSync(path.join(out, "variants")).filter((f) => f.endsWith(".json"))).toHaveLength(3);

    const results = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
    const schema = JSON.parse(fs.readFileSync(path.join(repo, "docs/sweep-results.schema.json"), "utf8"));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const ok = validate(results);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(results.missing).toEqual([]);
    expect(results.variants.map((v: { name: string }) => v.name)).toEqual(["dense", "peer[experts=16]", "peer[experts=64]"]);
    for (const v of results.variants) {
      // Steps are the whole steps the budget's tokens make: steps·tokens/step ≤ budget / train FLOPs per token < (steps+1)·tokens/step.
      expect(v.budget_tokens).toBe(Math.floor(Number(BUDGET) / v.train_flops_per_token));
      expect(v.steps).toBe(Math.floor(v.budget_tokens / v.tokens_per_step));
      expect(v.tokens_trained).toBe(v.steps * v.tokens_per_step);
      expect(Number.isFinite(v.val_bpb) && v.val_bpb > 0).toBe(true);
      const metrics = fs.readFileSync(path.join(out, v.run_dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(metrics.filter((r) => "val_bpb" in r).at(-1).val_bpb).toBe(v.val_bpb);
    }
    const [dense, peer16, peer64] = results.variants;
    expect(dense.experts).toBeNull();
    expect(dense.expert_usage).toEqual([]);
    expect([peer16.experts, peer64.experts]).toEqual([16, 64]);
    for (const p of [peer16, peer64]) {
      expect(p.expert_usage).toHaveLength(1);
      expect(p.expert_usage[0].num_experts).toBe(p.experts);
      expect(p.expert_usage[0].usage).toBeGreaterThan(0);
      expect(p.expert_usage[0].usage).toBeLessThanOrEqual(1);
      expect(p.expert_usage[0].unevenness).toBeGreaterThanOrEqual(0);
      expect(p.expert_usage[0].unevenness).toBeLessThanOrEqual(Math.log(p.experts));
    }

    // Against parameters: one series per method at each N; against N: the PEER model (its only other axis is N).
    expect(series(fs.readFileSync(path.join(out, "bpb-vs-params.svg"), "utf8"))).toEqual(["dense", "peer experts=16", "peer experts=64"]);
    expect(series(fs.readFileSync(path.join(out, "bpb-vs-experts.svg"), "utf8"))).toEqual(["peer"]);
    const md = fs.readFileSync(path.join(out, "results.md"), "utf8");
    for (const v of results.variants) expect(md).toContain(`| ${v.val_bpb.toFixed(4)} |`);
  });

  it("refuses to reuse the folder under another seed, naming the record and what differs", async () => {
    expect(fs.existsSync(path.join(out, "results.json")), "runs after the end-to-end test").toBe(true);
    const io = memoryIO({ cwd: repo, env: { PEERC_CACHE: path.join(root, "cache") } });
    expect(await runCli(["sweep", spec, "--flops-budget", BUDGET, "-o", out, "--seed", "7"], io)).toBe(2);
    expect(io.stderrText).toMatch(/records variant "dense" trained with other settings \(seed differ\): sweep into a new -o folder/);
  });

  it("rejects --target torch with a clear message and trains nothing", async () => {
    const io = memoryIO({ cwd: repo });
    const dir = path.join(root, "torch");
    expect(await runCli(["sweep", spec, "--flops-budget", BUDGET, "-o", dir, "--target", "torch"], io)).toBe(2);
    expect(io.stderrText).toContain("peerc sweep --target torch is not available yet");
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("says how much budget one step needs when the budget buys less", async () => {
    const io = memoryIO({ cwd: repo });
    expect(await runCli(["sweep", spec, "--flops-budget", "1e5", "-o", path.join(root, "small")], io)).toBe(2);
    expect(io.stderrText).toMatch(/buys model "dense" \d+ tokens, less than one step of 64 tokens; give --flops-budget [0-9.e+]+ or more/);
  });
});
