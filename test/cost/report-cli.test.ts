/**
 * `peerc report` through the CLI: --flops-budget in every format and for a
 * spec that is not a sweep (issue 14, bug 8), and a cpu target without its
 * peak (bug 9).
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { ReportJsonSchema } from "../../compiler/report/schema.js";
import { formatInt } from "../../compiler/report/units.js";

const repo = path.resolve(import.meta.dirname, "../..");

async function run(args: string[], cwd = repo) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

describe("report --flops-budget", () => {
  it("puts the tokens and steps of the budget in the JSON report of a sweep", async () => {
    const r = await run(["report", "specs/ablation.peer", "--format", "json", "--flops-budget", "6e18"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(ReportJsonSchema.safeParse(doc).success).toBe(true);
    expect(doc.models.length).toBe(4);
    for (const m of doc.models) {
      const fb = m.flops_budget;
      expect(fb.flops).toBe(6e18);
      expect(fb.tokens).toBe(Math.floor(6e18 / m.totals.flops_per_token.train));
      expect(fb.tokens_per_step).toBe(m.totals.train.tokens_per_step);
      expect(fb.steps).toBe(Math.floor(fb.tokens / m.totals.train.tokens_per_step));
    }
    // Bigger N, more FLOPs per token, fewer tokens in the same budget.
    const tokens = doc.models.map((m: { flops_budget: { tokens: number } }) => m.flops_budget.tokens);
    expect([...tokens].sort((a, b) => b - a)).toEqual(tokens);
  });

  it("leaves the JSON report as it was without the flag", async () => {
    const r = await run(["report", "specs/tiny.peer", "--format", "json"]);
    expect(JSON.parse(r.out).models[0]).not.toHaveProperty("flops_budget");
  });

  it("gives a spec that is not a sweep its tokens and steps at the budget, in the table and the JSON", async () => {
    const json = JSON.parse((await run(["report", "specs/tiny.peer", "--format", "json", "--flops-budget", "1e15"])).out);
    const m = json.models[0];
    const tokens = Math.floor(1e15 / m.totals.flops_per_token.train);
    const steps = Math.floor(tokens / m.totals.train.tokens_per_step);
    expect(m.flops_budget).toEqual({ flops: 1e15, tokens, tokens_per_step: m.totals.train.tokens_per_step, steps });
    const table = await run(["report", "specs/tiny.peer", "--flops-budget", "1e15"]);
    expect(table.code).toBe(0);
    const line = table.out.split("\n").find((l) => l.startsWith("at 1 PFLOP"));
    expect(line).toBeDefined();
    expect(line).toContain(formatInt(tokens));
    expect(line).toContain(`${formatInt(steps)} steps of ${formatInt(m.totals.train.tokens_per_step)} tokens`);
    const md = await run(["report", "specs/tiny.peer", "--flops-budget", "1e15", "--format", "md"]);
    expect(md.out).toContain(`${formatInt(steps)} steps`);
  });

  it("a model without a train section gets tokens, and says why it has no steps", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-fb-"));
    fs.writeFileSync(
      path.join(dir, "m.peer"),
      "model m {\n  vocab 256\n  context 64\n  embed tokens(dim: 64)\n  positions rope\n  residual {\n    norm rms\n    ffw(hidden: 256, act: gelu)\n  }\n  norm rms\n  lm_head tied\n}\n",
    );
    const json = JSON.parse((await run(["report", "m.peer", "--format", "json", "--flops-budget", "1e12"], dir)).out);
    expect(json.models[0].flops_budget.steps).toBeNull();
    expect(json.models[0].flops_budget.tokens).toBe(Math.floor(1e12 / json.models[0].totals.flops_per_token.train));
    const table = await run(["report", "m.peer", "--flops-budget", "1e12"], dir);
    expect(table.out).toMatch(/^at 1 TFLOP .*steps need a train section/m);
  });
});

describe("report --target cpu without --cpu-peak", () => {
  it("says why the bound column is empty, and marks its cells", async () => {
    const r = await run(["report", "specs/tiny.peer", "--target", "cpu"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("bound cpu: no estimate without the cpu's peak: pass --cpu-peak");
    const header = r.out.split("\n").findIndex((l) => l.includes("bound cpu"));
    const firstRow = r.out.split("\n")[header + 2]!;
    expect(firstRow.trimEnd().endsWith("—")).toBe(true);
    const md = await run(["report", "specs/tiny.peer", "--target", "cpu", "--format", "md"]);
    expect(md.out).toContain("pass --cpu-peak");
    const gh = await run(["report", "specs/tiny.peer", "--target", "cpu", "--format", "github"]);
    expect(gh.out).toContain("no cpu step time (pass --cpu-peak)");
  });

  it("with --cpu-peak the column has its bounds and no note", async () => {
    const r = await run(["report", "specs/tiny.peer", "--target", "cpu", "--cpu-peak", "50e9", "--cpu-bandwidth", "20e9"]);
    expect(r.out).not.toContain("no estimate");
    expect(r.out).toMatch(/ (memory|compute)\n/);
  });
});
