import { describe, expect, it } from "vitest";
import { costModel } from "../../compiler/cost/index.js";
import { reportJson } from "../../compiler/report/index.js";
import { diffModels, diffReports } from "../../compiler/diff/index.js";
import { ffw, peer, smallLm } from "./ir-builder.js";

const before = reportJson([costModel(smallLm({ name: "lm" })), costModel(smallLm({ name: "gone" }))]);
const after = reportJson([
  costModel(smallLm({ name: "lm", ffn: (i, d) => (i === 1 ? peer({ dModel: d, experts: 64 ** 2, heads: 4, topk: 8, keyDim: 32 }) : ffw({ dModel: d, hidden: 4 * d })) })),
]);

describe("diffReports", () => {
  const models = diffModels(before, after);

  it("gives per-figure absolute and relative deltas", () => {
    const lm = models.find((m) => m.name === "lm")!;
    expect(lm.status).toBe("changed");
    const params = lm.totals.find((f) => f.figure === "params")!;
    const b = before.models[0]!.totals.params;
    const a = after.models[0]!.totals.params;
    expect(params).toMatchObject({ before: b, after: a, delta: a - b, relative: (a - b) / b });
  });

  it("lists added and removed layers and models", () => {
    const lm = models.find((m) => m.name === "lm")!;
    expect(lm.layers.map((l) => [l.path, l.status])).toEqual([
      ["blocks.1.ffw.peer", "added"],
      ["blocks.1.ffw.ffw", "removed"],
    ]);
    expect(models.find((m) => m.name === "gone")!.status).toBe("removed");
  });

  it("renders a table and a PR-ready markdown comment; unchanged reports say so", () => {
    const text = diffReports(before, after, { format: "table" });
    expect(text).toMatch(/model lm: changed/);
    expect(text).toMatch(/blocks\.1\.ffw\.peer\s+added peer/);
    expect(text).toMatch(/params\s+\S+ \S+\s+\S+ \S+\s+\+\S+ \S+\s+\+[\d.]+%/);
    const md = diffReports(before, after, { format: "md" });
    expect(md).toContain("## peerc diff");
    expect(md).toMatch(/^\| figure \| before \| after \| Δ \| Δ% \|$/m);
    expect(diffReports(before, before, { format: "table" })).toMatch(/model lm: unchanged/);
    const json = JSON.parse(diffReports(before, after, { format: "json" }));
    expect(json.schema).toBe("peerc.diff/v1");
  });
});
