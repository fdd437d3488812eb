/** generated/torch/ holds exactly what `peerc compile --target torch` emits for specs/ today (`npx tsx targets/torch/regen.ts` updates it). */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { planTorchGenerated } from "../../targets/torch/regen.js";
import { ROOT } from "../emit/helpers.js";

describe("generated/torch/", () => {
  it("is up to date (regenerate with: npx tsx targets/torch/regen.ts)", () => {
    const stale: string[] = [];
    for (const [folder, files] of planTorchGenerated(ROOT).folders) {
      for (const [name, text] of files) {
        const file = path.join(ROOT, "generated", "torch", folder, name);
        if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) stale.push(`generated/torch/${folder}/${name}`);
      }
    }
    expect(stale, "out of date; run npx tsx targets/torch/regen.ts").toEqual([]);
  });
});
