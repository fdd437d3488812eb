import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSpec } from "../../grammar/parse.js";
import { formatSource, formatSpec } from "../../grammar/printer.js";
import { shape } from "./shape.js";
import { PEER_C4, TINY } from "./fixtures.js";

function format(text: string): string {
  const r = formatSource({ path: "t.peer", text });
  expect(r.diagnostics).toEqual([]);
  return r.text!;
}

const MESSY = `// header


let d=128 ;let e = 2 ^ 3   // pow
/* block
   comment */
model x { // open
  vocab 3 ; norm rms


  // lonely
  peer(experts: 4, // inline
       heads: 8,)
  if a { b 1 }
  else if c { d } else { e 1 } // end
  residual {}
}
budget x { }
// trailing
`;

const SPECS_DIR = join(process.cwd(), "specs");
const specFiles = existsSync(SPECS_DIR) ? readdirSync(SPECS_DIR).filter((f) => f.endsWith(".peer")) : [];
const corpus: [string, string][] = [
  ["tiny", TINY],
  ["peer-c4", PEER_C4],
  ["messy", MESSY],
  ...specFiles.map((f): [string, string] => [`specs/${f}`, readFileSync(join(SPECS_DIR, f), "utf8")]),
];

describe("formatter", () => {
  it.each(corpus)("%s: idempotent and AST-preserving", (_name, text) => {
    const original = parseSpec({ path: "t.peer", text });
    expect(original.diagnostics).toEqual([]);
    const once = format(text);
    const twice = format(once);
    expect(twice).toBe(once);
    expect(shape(parseSpec({ path: "t.peer", text: once }).file)).toEqual(shape(original.file));
  });

  it("prints the canonical layout", () => {
    expect(format(MESSY)).toBe(`// header

let d = 128
let e = 2^3 // pow
/* block
   comment */
model x { // open
  vocab 3
  norm rms

  // lonely
  // inline
  peer(experts: 4, heads: 8)
  if a {
    b 1
  } else if c {
    d
  } else {
    e 1
  } // end
  residual {}
}
budget x {}
// trailing
`);
  });

  it("keeps the tiny example as written apart from splitting one-line bodies", () => {
    const out = format(TINY);
    expect(out).toContain("let n = [64^2, 128^2] // value list: one variant per item\n");
    expect(out).toContain("  residual {\n    norm rms\n    attention(heads: heads, head_dim: width / heads, causal)\n  }\n");
    expect(out).toContain("      } else {\n        ffw(hidden: 4 * d, act: gelu, glu: false)\n      }\n");
    expect(out).toContain("  memory(train, fp32) <= 2 GiB on cpu\n");
  });

  it("keeps numbers and strings as written", () => {
    expect(format('let a = 1_000\nlet b = 1.5Ki\nlet c = 3E-4\nimport "x\\ty"\n')).toBe('let a = 1_000\nlet b = 1.5Ki\nlet c = 3E-4\nimport "x\\ty"\n');
  });

  it("keeps every comment", () => {
    const out = format(PEER_C4);
    for (const c of parseSpec({ path: "t.peer", text: PEER_C4 }).file.comments) expect(out).toContain(c.text);
  });

  it("refuses a file with syntax errors", () => {
    const r = formatSource({ path: "t.peer", text: "model a {\n  peer(experts = 4)\n}\n" });
    expect(r.text).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0015"]);
  });

  it("formats an empty file to nothing and a comment-only file to its comments", () => {
    const empty = parseSpec({ path: "e.peer", text: "" });
    expect(formatSpec(empty.file, { path: "e.peer", text: "" })).toBe("");
    expect(format("\n\n// only\n\n\n// two\n")).toBe("// only\n\n// two\n");
  });
});
