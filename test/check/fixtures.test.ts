import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CHECK_CATALOG } from "../../diagnostics/codes/check.js";
import { listFixtures, readExpectation, renderFixture } from "../fixtures/golden.js";

const fixtures = listFixtures();

/** Codes that no spec can trigger on purpose. */
const NO_FIXTURE = new Set(["E0199"]);

describe("golden bad specs", () => {
  for (const fixture of fixtures) {
    it(fixture.name, () => {
      const source = fs.readFileSync(fixture.path, "utf8");
      const expectation = readExpectation(source);
      expect(expectation, "fixture starts with `// expect: CODE at line:col`").not.toBeNull();
      const { result, text } = renderFixture(fixture);
      const first = result.diagnostics[0];
      expect(first?.code).toBe(expectation!.code);
      expect(first?.span?.file).toBe(expectation!.file ? `test/fixtures/bad/${expectation!.file}` : fixture.path);
      expect([first?.span?.line, first?.span?.column]).toEqual([expectation!.line, expectation!.column]);
      // The fixture is named after the code it demonstrates.
      expect(fixture.name.startsWith(expectation!.code)).toBe(true);
      expect(text).toBe(fs.readFileSync(fixture.expectedPath, "utf8"));
    });
  }

  it("covers every code of the checker's catalog", () => {
    const covered = new Set(fixtures.map((f) => f.name.slice(0, 5)));
    const missing = CHECK_CATALOG.map((e) => e.code).filter((c) => !covered.has(c) && !NO_FIXTURE.has(c));
    expect(missing).toEqual([]);
  });
});
