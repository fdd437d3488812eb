/**
 * The pieces of `peerc sweep` without training: Table 2's usage and
 * unevenness against a hand computation on a fixed routing record; the
 * conversion of a run's metrics.jsonl into a result; the plots' series; the
 * published schema being the one its generator writes.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ExpertUsage, RoutingStats } from "../../runtime/metrics/usage.js";
import { readRunMetrics, plotSeries } from "../../compiler/sweep/run.js";
import { sweepPlotSvg } from "../../compiler/sweep/plot.js";
import { SWEEP_SCHEMA_PATH, sweepSchemaText } from "../../docs/gen-sweep-schema.js";
import { SWEEP_RESULTS_SCHEMA, type SweepResults } from "../../compiler/sweep/schema.js";

describe("Table 2 figures (runtime/metrics/usage.ts, what the sweep records)", () => {
  it("match a hand computation on a fixed routing record over two passes", () => {
    // N = 8; two tokens × 2 heads × k = 2 in pass one, one token in pass two. Experts 5 and 7 are never chosen.
    const stats = new RoutingStats();
    stats.recorder({ path: "blocks.0.peer", numExperts: 8, ids: Int32Array.from([0, 1, 2, 3, 0, 1, 4, 6]), weights: Float32Array.from([0.5, 0.5, 0.25, 0.75, 1, 0, 0.5, 0.5]) });
    stats.recorder({ path: "blocks.0.peer", numExperts: 8, ids: Int32Array.from([0, 2, 3, 6]), weights: Float32Array.from([0.5, 0.5, 0.25, 0.75]) });
    // z' = [2, 0.5, 0.75, 1, 0.5, 0, 1.25, 0] (expert 1's second weight is 0), ‖z'‖₁ = 6.
    // Expert 1 still has z'_1 = 0.5 ≠ 0; used: 0,1,2,3,4,6 → 6/8.
    const z = [2, 0.5, 0.75, 1, 0.5, 0, 1.25, 0].map((v) => v / 6);
    const kl = Math.log(8) + z.filter((p) => p > 0).reduce((s, p) => s + p * Math.log(p), 0);
    const [summary] = stats.summaries();
    expect(summary!.path).toBe("blocks.0.peer");
    expect(summary!.usage).toBe(6 / 8);
    expect(summary!.unevenness).toBeCloseTo(kl, 6); // float32 weights are exact here; float64 sums
    // By hand: z = [1/3, 1/12, 1/8, 1/6, 1/12, 0, 5/24, 0]; Σ z ln z = −0.36620 − 2·0.20708 − 0.25993 − 0.29863 − 0.32680
    // = −1.66571; log 8 = 2.07944; unevenness = 0.41373 nats.
    expect(summary!.unevenness).toBeCloseTo(0.41373, 4);
  });

  it("are 0 for perfectly even routing and log N when one expert takes everything", () => {
    const even = new ExpertUsage("p", 4);
    even.add({ path: "p", numExperts: 4, ids: Int32Array.from([0, 1, 2, 3]), weights: Float32Array.from([0.25, 0.25, 0.25, 0.25]) });
    expect(even.usage()).toBe(1);
    expect(even.unevenness()).toBeCloseTo(0, 12);
    const one = new ExpertUsage("p", 4);
    one.add({ path: "p", numExperts: 4, ids: Int32Array.from([2, 2]), weights: Float32Array.from([1, 3]) });
    expect(one.usage()).toBe(0.25);
    expect(one.unevenness()).toBeCloseTo(Math.log(4), 12);
  });
});

describe("a run's metrics.jsonl into a sweep result", () => {
  it("takes the last validation record and the tokens of the last record; snake_case usage; NaN unevenness → null", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-sweep-units-"));
    const file = path.join(dir, "metrics.jsonl");
    const lines = [
      { step: 5, tokens: 320, val_loss: 5.1, val_bpb: 7.4, expert_usage: [{ path: "a", numExperts: 16, usage: 0.5, unevenness: 1.2 }] },
      { step: 10, tokens: 640, loss: 4.0 },
      { step: 10, tokens: 640, val_loss: 4.2, val_bpb: 6.06, expert_usage: [{ path: "a", numExperts: 16, usage: 0.75, unevenness: 0.4 }, { path: "b", numExperts: 4, usage: 0, unevenness: null }] },
    ];
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n{not json\n");
    expect(readRunMetrics(file)).toEqual({
      tokensTrained: 640,
      valLoss: 4.2,
      valBpb: 6.06,
      usage: [
        { path: "a", num_experts: 16, usage: 0.75, unevenness: 0.4 },
        { path: "b", num_experts: 4, usage: 0, unevenness: null },
      ],
    });
    expect(readRunMetrics(path.join(dir, "missing.jsonl"))).toBeNull();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("sweep plots", () => {
  const variant = (name: string, method: string, values: Record<string, number>, params: number, experts: number | null, bpb: number) => ({
    name, method, values, spec_hash: "h", params, active_params: params, experts, train_flops_per_token: 1, budget_tokens: 1,
    tokens_per_step: 1, steps: 1, tokens_trained: 1, val_loss: 1, val_bpb: bpb, expert_usage: [], seconds: 0, run_dir: "runs/x",
  });
  const results: SweepResults = {
    schema: SWEEP_RESULTS_SCHEMA, spec: "s.peer", flops_budget: 1e9, target: "tfjs", seed: 1, data: null, val_data: null, eval_batches: null, missing: [],
    variants: [
      variant("d1", "dense", { d: 32 }, 1e4, null, 3),
      variant("d2", "dense", { d: 64 }, 4e4, null, 2.5),
      variant("p1", "peer", { d: 32, experts: 16 }, 2e4, 16, 2.8),
      variant("p2", "peer", { d: 32, experts: 64 }, 3e4, 64, 2.6),
      variant("p3", "peer", { d: 64, experts: 16 }, 6e4, 16, 2.4),
      variant("p4", "peer", { d: 64, experts: 64 }, 9e4, 64, 2.2),
      variant("k", "pkm", { d: 32 }, 3e4, 16, 2.9),
    ],
  };

  it("against parameters: one series per method at a fixed N; against N: one per method and size, only where N varies", () => {
    const s = plotSeries(results);
    expect(s.params.map((x) => [x.name, x.points.length])).toEqual([["dense", 2], ["peer experts=16", 2], ["peer experts=64", 2], ["pkm", 1]]);
    expect(s.params[1]!.points).toEqual([{ x: 2e4, y: 2.8 }, { x: 6e4, y: 2.4 }]);
    expect(s.experts.map((x) => x.name)).toEqual(["peer d=32", "peer d=64"]);
    expect(s.experts[1]!.points).toEqual([{ x: 16, y: 2.4 }, { x: 64, y: 2.2 }]);
    const svg = sweepPlotSvg(s.params, { title: "t <&>", xLabel: "parameters", yLabel: "bpb" });
    expect([...svg.matchAll(/<g class="series" data-method="([^"]*)">/g)].map((m) => m[1])).toEqual(["dense", "peer experts=16", "peer experts=64", "pkm"]);
    expect(svg.match(/<circle [^>]*r="4"/g)!.length).toBe(7 + 4); // a marker per variant + one per legend entry
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(sweepPlotSvg(s.params, { title: "t <&>", xLabel: "parameters", yLabel: "bpb" })).toBe(svg);
  });
});

describe("docs/sweep-results.schema.json", () => {
  it("is what docs/gen-sweep-schema.ts writes (run: npx tsx docs/gen-sweep-schema.ts)", () => {
    expect(fs.readFileSync(SWEEP_SCHEMA_PATH, "utf8")).toBe(sweepSchemaText());
  });
});
