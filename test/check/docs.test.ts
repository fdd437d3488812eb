import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { generateDiagnosticsDoc } from "../../docs/gen-diagnostics.js";
import { CATALOG } from "../../diagnostics/codes/index.js";

describe("docs/diagnostics.md", () => {
  it("is up to date (regenerate with `npx tsx docs/gen-diagnostics.ts`)", () => {
    expect(fs.readFileSync("docs/diagnostics.md", "utf8")).toBe(generateDiagnosticsDoc(process.cwd()));
  });

  it("has a section for every code of both catalogs", () => {
    const doc = fs.readFileSync("docs/diagnostics.md", "utf8");
    for (const { code } of CATALOG) expect(doc).toContain(`\n## ${code}\n`);
  });
});
