import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { generateDiagnosticsDoc } from "../../docs/gen-diagnostics.js";
import { SYNTAX_CODES } from "../../grammar/codes.js";
import { CHECK_CATALOG } from "../../compiler/check/codes.js";

describe("docs/diagnostics.md", () => {
  it("is up to date (regenerate with `npx tsx docs/gen-diagnostics.ts`)", () => {
    expect(fs.readFileSync("docs/diagnostics.md", "utf8")).toBe(generateDiagnosticsDoc(process.cwd()));
  });

  it("has a section for every code of both catalogs", () => {
    const doc = fs.readFileSync("docs/diagnostics.md", "utf8");
    for (const { code } of [...SYNTAX_CODES, ...CHECK_CATALOG]) expect(doc).toContain(`\n## ${code}\n`);
  });
});
