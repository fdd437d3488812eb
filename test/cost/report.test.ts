import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { costModel } from "../../compiler/cost/index.js";
import { renderReport, renderSweep } from "../../compiler/report/index.js";
import { ReportJsonSchema } from "../../compiler/report/schema.js";
import { formatBytes, formatCount, formatFlops, formatInUnit, formatSeconds } from "../../compiler/report/units.js";
import { reportSchemaText, REPORT_SCHEMA_PATH } from "../../docs/gen-report-schema.js";
import { budget, model, paperPeer, peer, smallLm, train } from "./ir-builder.js";

const peerLm = (experts = 64 ** 2, name = "m", sweep: Parameters<typeof smallLm>[0]["sweep"] = null) =>
  smallLm({
    name,
    sweep,
    ffn: (i, d) => (i === 1 ? peer({ dModel: d, experts, heads: 4, topk: 8, keyDim: 32 }) : { ...smallLm().layers[4]!, dModel: d } as never),
    train: train({ batch: 4, context: 128 }),
    budgets: [budget({ metric: "params", limit: 1e9, unit: "M" }), budget({ metric: "flops_per_token", limit: 1, unit: "FLOP" }, 41)],
  });

describe("units", () => {
  it("humanises counts, FLOPs, bytes and seconds", () => {
    expect(formatCount(2_149_849_088n)).toBe("2.15 B");
    expect(formatCount(999_999)).toBe("1 M");
    expect(formatFlops(8_931_968)).toBe("8.93 MFLOP");
    expect(formatBytes(1.2 * 2 ** 30)).toBe("1.2 GiB");
    expect(formatSeconds(0.0034)).toBe("3.4 ms");
    expect(formatInUnit(1.31e9, "GFLOP")).toBe("1.31 GFLOP");
    expect(formatInUnit(10e6, "M")).toBe("10M");
    expect(formatInUnit(80 * 2 ** 30, "GiB")).toBe("80 GiB");
  });
});

describe("json report", () => {
  const costs = [costModel(peerLm()), costModel(model({ dModel: 1024, layers: [paperPeer()] }))];
  const doc = JSON.parse(renderReport(costs, { format: "json", depth: 99, color: false }));

  it("validates against its zod schema", () => {
    const parsed = ReportJsonSchema.safeParse(doc);
    expect(parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3))).toBe("");
    expect(doc.schema).toBe("peerc.report/v1");
  });

  it("carries exact integers, spans, args and breakdowns per layer", () => {
    const layer = doc.models[1].layers[0];
    expect(layer.params).toBe(2_149_849_088);
    expect(layer.args).toMatchObject({ d_model: 1024, experts: 1_048_576, heads: 8, topk: 16, key_dim: 256, keys: "shared" });
    expect(layer.params_breakdown.experts_u).toBe(1024 * 1024 * 1024);
    expect(layer.flops_breakdown.macs).toBe(layer.flops_breakdown.matrix / 2);
    expect(layer.span).toEqual({ file: "test.peer", line: 1, column: 1, endLine: 1, endColumn: 2 });
    const totals = doc.models[0].totals;
    expect(totals.params).toBe(doc.models[0].layers.reduce((s: number, l: { params: number }) => s + l.params, 0));
    expect(totals.train.tokens_per_step).toBe(512);
    expect(totals.conventions.join("\n")).toMatch(/multiply-add = 2 FLOPs/);
    expect(doc.models[0].budgets.map((b: { ok: boolean }) => b.ok)).toEqual([true, false]);
  });

  it("docs/report.schema.json is generated from the schema and up to date (npx tsx docs/gen-report-schema.ts)", () => {
    expect(fs.readFileSync(REPORT_SCHEMA_PATH, "utf8")).toBe(reportSchemaText());
  });
});

describe("table, md and github reports", () => {
  const cost = costModel(peerLm());

  it("prints one row per layer with totals, budgets and conventions", () => {
    const text = renderReport([cost], { format: "table", depth: 99, color: false });
    for (const l of cost.layers) expect(text).toContain(l.path);
    expect(text).toMatch(/blocks\.1\.ffw\.peer\s+peer\s+N 64², h 4, k 8, dk 32/);
    expect(text).toContain(`(${Number(cost.totals.params).toLocaleString("en-US")})`);
    expect(text).toMatch(/✓ params .* <= 1000M/);
    expect(text).toMatch(/✗ flops_per_token/);
    expect(text).toContain("conventions:");
    expect(text).not.toContain("\x1b[");
    expect(renderReport([cost], { format: "table", depth: 99, color: true })).toContain("\x1b[1m");
  });

  it("--depth folds deeper layers into their parent row (sums)", () => {
    const text = renderReport([cost], { format: "table", depth: 2, color: false });
    const row = text.split("\n").find((l) => /^\s*blocks\.1\s/.test(l))!;
    expect(row).toMatch(/norm\+attention\+peer\s+4 layers/);
    const block = cost.layers.filter((l) => l.path.startsWith("blocks.1."));
    const params = block.reduce((s, l) => s + l.params, 0n);
    expect(row).toContain(formatCount(params));
    expect(text).not.toContain("blocks.1.ffw.peer");
  });

  it("md has GitHub tables and github has one ::notice per model", () => {
    const md = renderReport([cost], { format: "md", depth: 99, color: false });
    expect(md).toMatch(/^\| figure \| value \|$/m);
    expect(md).toMatch(/^\|:---\|:---\|$/m);
    expect(md).toContain("`blocks.1.ffw.peer`");
    const gh = renderReport([cost, costModel(smallLm({ name: "other" }))], { format: "github", depth: 99, color: false });
    const notices = gh.trim().split("\n");
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/^::notice file=test\.peer,line=1,title=peerc report%3A m::params /);
    expect(notices[0]).toContain("%0A✓ params");
  });
});

describe("sweeps", () => {
  const sizes = [128 ** 2, 256 ** 2];
  const costs = sizes.map((n) => costModel(peerLm(n, `m[experts=${n}]`, [{ name: "experts", value: n, span: paperPeer().span }])));

  it("prints one row per variant", () => {
    const text = renderSweep(costs, { format: "table" });
    expect(text).toContain("sweep m (test.peer)");
    expect(text).toMatch(/16,384\s+/);
    expect(text).toMatch(/65,536\s+/);
    expect(text).toContain(formatCount(costs[1]!.totals.params));
  });

  it("with a FLOP budget lists tokens = X / train FLOPs per token and the steps they make", () => {
    const x = 6e18;
    const text = renderSweep(costs, { format: "md", flopsBudget: x });
    expect(text).toContain("tokens in budget");
    const json = JSON.parse(renderSweep(costs, { format: "json", flopsBudget: x }));
    for (const [i, row] of json.rows.entries()) {
      const perToken = costs[i]!.totals.flopsPerToken.train;
      expect(row.budgetTokens).toBe(Math.floor(x / perToken));
      expect(row.budgetSteps).toBe(Math.floor(row.budgetTokens / 512));
    }
  });
});

describe("a 1M-expert report allocates nothing proportional to N", () => {
  it("keeps heap growth under 50 MB", () => {
    const m = smallLm({ d: 1024, ffn: (i, d) => (i === 1 ? peer({ dModel: d, experts: 1024 ** 2, heads: 8, topk: 16, keyDim: 256 }) : { ...smallLm().layers[4]!, dModel: d, hidden: 4 * d } as never), train: train({ batch: 128, microBatch: 8, context: 2048 }) });
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    let length = 0;
    for (let i = 0; i < 5; i++) {
      const cost = costModel(m);
      length += renderReport([cost], { format: "json", depth: 99, color: false }).length;
      length += renderReport([cost], { format: "table", depth: 99, color: false }).length;
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(length).toBeGreaterThan(0);
    // 2 × 1M × 1024 floats would be 8 GiB; anything proportional to N shows up here.
    expect(grown).toBeLessThan(50 * 2 ** 20);
  });
});
