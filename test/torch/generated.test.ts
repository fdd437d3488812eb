/** generated/torch/ holds exactly what `peerc compile --target torch` emits for specs/ today (`npx tsx targets/torch/regen.ts` updates it). */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { planTorchGenerated } from "../../targets/torch/regen.js";
import { ROOT } from "../emit/helpers.js";

describe("generated/torch/", () => {
  it("is up to date (regenerate with: npx tsx targets/torch/regen.ts)", () => {
    const stale: string[] = [];
    const plan = planTorchGenerated(ROOT);
    const isCurrent = (file: string, text: string) => fs.existsSync(file) && fs.readFileSync(file, "utf8") === text;
    for (const [folder, files] of plan.folders) {
      for (const [name, text] of files) {
        if (!isCurrent(path.join(ROOT, "generated", "torch", folder, name), text)) stale.push(`generated/torch/${folder}/${name}`);
      }
      // The runtime is shared, never copied per trainer: a copy would shadow the shared one.
      for (const name of plan.shared.keys()) {
        if (fs.existsSync(path.join(ROOT, "generated", "torch", folder, name))) stale.push(`generated/torch/${folder}/${name} (should not exist)`);
      }
    }
    for (const [name, text] of plan.shared) {
      if (!isCurrent(path.join(ROOT, "generated", "torch", name), text)) stale.push(`generated/torch/${name}`);
    }
    expect(plan.shared.has("peerc_runtime.py")).toBe(true);
    expect(stale, "out of date; run npx tsx targets/torch/regen.ts").toEqual([]);
  });
});
