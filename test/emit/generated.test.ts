/** generated/ holds exactly what peerc emits for specs/ today (`npx tsx compiler/emit/regen.ts` updates it). */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { planGenerated } from "../../compiler/emit/generated.js";
import { emitModelTrainer, formatProblems } from "../../compiler/emit/index.js";
import { typecheckFolders } from "../../compiler/emit/typecheck.js";
import { ROOT, repoModel } from "./helpers.js";
import { costModel, denseMemoryFigures } from "../../compiler/cost/index.js";

describe("generated/", () => {
  const plan = planGenerated(ROOT);

  it("covers every spec model, and every spec checks", () => {
    expect(plan.failed).toEqual([]);
    for (const name of ["tiny", "peer_1m", "dense", "moe", "pkm", "peer", "peer_n-experts-16384"]) expect(plan.folders.has(name), name).toBe(true);
  });

  it("is up to date (regenerate with: npx tsx compiler/emit/regen.ts)", () => {
    const stale: string[] = [];
    for (const [folder, files] of plan.folders) {
      for (const [name, text] of files) {
        const file = path.join(ROOT, "generated", folder, name);
        const onDisk = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
        if (onDisk !== text) stale.push(`generated/${folder}/${name}`);
      }
    }
    expect(stale, "out of date; run npx tsx compiler/emit/regen.ts").toEqual([]);
  });

  it("emits the same bytes every time, whatever was emitted in between", () => {
    const tiny = repoModel("specs/tiny.peer");
    const moe = repoModel("specs/paper.peer", "moe");
    const options = (name: string) => ({ specFile: path.join(ROOT, "specs/x.peer"), outDir: path.join(ROOT, "generated", name) });
    const first = emitModelTrainer(tiny, options("tiny"));
    emitModelTrainer(moe, options("moe"));
    const again = emitModelTrainer(tiny, options("tiny"));
    expect(again).toEqual(first);
  });
});

describe("the trainer's memory preflight figures", () => {
  it("train.ts hands trainMain the cost model's dense memory figures", () => {
    const tiny = repoModel("specs/tiny.peer");
    const files = emitModelTrainer(tiny, { specFile: path.join(ROOT, "specs/tiny.peer"), outDir: path.join(ROOT, "generated", "tiny") });
    const train = files.get("train.ts")!;
    const figures = denseMemoryFigures(costModel(tiny).layers);
    const literal = (n: number) => n.toLocaleString("en-US").replace(/,/g, "_");
    expect(train).toContain(`denseParams: ${literal(figures.denseParams)},`);
    expect(train).toContain(`activationBytesPerToken: ${literal(figures.activationBytesPerToken)},`);
    expect(train).toContain("memory: DENSE_MEMORY,");
  });
});

describe("generated/ type-checks", () => {
  it("every checked-in trainer passes tsc --strict against the runtime's types", () => {
    const plan = planGenerated(ROOT);
    const folders = new Map([...plan.folders].map(([name, files]) => [path.join(ROOT, "generated", name), files]));
    expect(formatProblems(typecheckFolders(folders))).toBe("");
  }, 120_000);
});
