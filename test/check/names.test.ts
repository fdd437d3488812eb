import { describe, expect, it } from "vitest";
import { check, checkMemory, codes, layersOf, modelWith, onlyModel } from "./helpers.js";

describe("lets and scopes", () => {
  it("refuses a second let of the same name in one body, pointing at both", () => {
    const r = check(modelWith("  let w = 8\n  let w = 16\n  ffw(hidden: w)"));
    expect(codes(r)).toEqual(["E0101"]);
    const d = r.diagnostics[0]!;
    expect(d.span!.line).toBe(7);
    expect(d.labels[0]!.span.line).toBe(6);
    expect(d.labels[0]!.message).toBe("first defined here");
  });

  it("lets a nested body shadow an outer let, visible only inside it", () => {
    const m = onlyModel(
      check(modelWith("  let w = 8\n  residual {\n    let w = 16\n    ffw(hidden: w)\n  }\n  ffw(hidden: w)")),
    );
    expect(layersOf(m, "ffw").map((l) => l.hidden)).toEqual([16, 8]);
  });

  it("warns about unused lets, except `_names` and lets of imported files", () => {
    const r = checkMemory({
      "main.peer": `import "lib.peer"\nlet spare = 1\nlet _kept = 2\n${modelWith("  ffw(hidden: used)")}`,
      "lib.peer": "let used = 32\nlet unused_in_lib = 3\n",
    });
    expect(r.diagnostics.map((d) => `${d.code} ${d.span!.file}:${d.span!.line}`)).toEqual(["W0101 main.peer:2"]);
    expect(r.program.models).toHaveLength(1);
  });

  it("evaluates lets in the file that defines them, even unused ones", () => {
    const r = check("let broken = 7 / 2\n");
    expect(codes(r)).toContain("E0202");
  });
});

describe("imports", () => {
  const model = modelWith("  wide(width: d)");
  it("brings lets and blocks into scope, resolving paths against the importing file", () => {
    const r = checkMemory({
      "specs/main.peer": `import "lib/blocks.peer"\n${model}`,
      "specs/lib/blocks.peer": `import "../shared/dims.peer"\nblock wide(width) {\n  ffw(hidden: 4 * width)\n}\n`,
      "specs/shared/dims.peer": "let d = 16\n",
    });
    expect(codes(r)).toEqual([]);
    expect(layersOf(onlyModel(r), "ffw")[0]!.hidden).toBe(64);
    expect([...r.sources.keys()].sort()).toEqual(["specs/lib/blocks.peer", "specs/main.peer", "specs/shared/dims.peer"]);
  });

  it("reports a missing file at the import string", () => {
    const r = checkMemory({ "a.peer": `import "nope.peer"\n${modelWith("")}` });
    expect(codes(r)).toEqual(["E0103"]);
    expect([r.diagnostics[0]!.span!.line, r.diagnostics[0]!.span!.column]).toEqual([1, 8]);
  });

  it("reports a cycle with the whole chain and a label per import", () => {
    const r = checkMemory({
      "a.peer": 'import "b.peer"\n',
      "b.peer": 'import "c.peer"\n',
      "c.peer": 'import "a.peer"\n',
    });
    expect(codes(r)).toEqual(["E0104"]);
    const d = r.diagnostics[0]!;
    expect(d.message).toBe("import cycle: a.peer → b.peer → c.peer → a.peer");
    expect(d.span!.file).toBe("c.peer");
    expect(d.labels.map((l) => l.span.file)).toEqual(["a.peer", "b.peer"]);
  });

  it("accepts a diamond (two paths to one file) without duplicate-name errors", () => {
    const r = checkMemory({
      "top.peer": `import "left.peer"\nimport "right.peer"\n${modelWith("  ffw(hidden: base + l + r)")}`,
      "left.peer": 'import "base.peer"\nlet l = 1\n',
      "right.peer": 'import "base.peer"\nlet r = 2\n',
      "base.peer": "let base = 61\n",
    });
    expect(codes(r)).toEqual([]);
    expect(layersOf(onlyModel(r), "ffw")[0]!.hidden).toBe(64);
  });

  it("refuses a name defined in two files, showing both", () => {
    const r = checkMemory({ "a.peer": 'import "b.peer"\nimport "c.peer"\n', "b.peer": "let x = 1\n", "c.peer": "let x = 2\n" });
    expect(codes(r)).toEqual(["E0102"]);
    expect(r.diagnostics[0]!.labels.map((l) => l.span.file)).toEqual(["b.peer", "c.peer"]);
  });

  it("refuses duplicate model names across the program", () => {
    const r = checkMemory({ "a.peer": modelWith(""), "b.peer": modelWith("") }, ["a.peer", "b.peer"]);
    expect(codes(r)).toEqual(["E0107"]);
    expect(r.program.models).toHaveLength(1);
  });

  it("stops at syntax errors and reports only those", () => {
    const r = checkMemory({ "a.peer": `let x = (1 +\n${modelWith("  ffw(hidden: 7 / 2)")}` });
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics.every((d) => d.code < "E0100")).toBe(true);
    expect(r.program.models).toEqual([]);
  });
});

describe("train and budget targets", () => {
  it("suggests the nearest model for an unknown one", () => {
    const r = check(`${modelWith("")}\ntrain n {\n batch 8\n steps 10\n optimizer adamw(lr: 1e-3)\n}`);
    expect(codes(r)).toEqual(["E0501"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `m`?");
  });
});
