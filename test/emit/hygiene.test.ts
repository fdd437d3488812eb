import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vm from "node:vm";
import fc from "fast-check";
import { commentText, markdownText, tsNumber, tsString, tsValue } from "../../compiler/emit/strings.js";
import { camelIdentifier, NameScope, pascalIdentifier, safeFileName } from "../../compiler/emit/names.js";
import { resolveInside, UnsafeOutputError, writeOutputs } from "../../compiler/emit/write.js";
import { tsHeader } from "../../compiler/emit/header.js";
import { transpile } from "../../compiler/emit/typecheck.js";

const HOSTILE = [
  'a"b',
  "a'b",
  "back\\slash",
  "line\nbreak",
  "cr\rhere",
  "ls\u2028ps\u2029",
  "*/ process.exit(1) /*",
  "${process.exit(1)}",
  "`tick`",
  "</script>",
  "\u0000nul",
  "emoji 🧠",
];

/** Evaluates a JS expression in an empty context (nothing to reach if it escaped the literal). */
function evaluate(expr: string): unknown {
  return vm.runInNewContext(`(${expr})`, {});
}

describe("strings: spec text reaches code only as escaped literals", () => {
  it("tsString round-trips hostile strings exactly", () => {
    for (const s of HOSTILE) expect(evaluate(tsString(s))).toBe(s);
  });

  it("tsString round-trips any string (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => evaluate(tsString(s)) === s));
  });

  it("commentText never closes a block comment nor ends a line comment", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const c = commentText(s);
        return !c.includes("*/") && !/[\n\r\u2028\u2029]/.test(c);
      }),
    );
    // Code placed after a comment holding hostile text still runs: the comment did not swallow or inject anything.
    for (const s of HOSTILE) {
      const code = `/* ${commentText(s)} */ // ${commentText(s)}\n42`;
      expect(vm.runInNewContext(code, {})).toBe(42);
    }
  });

  it("markdownText stays on one line and escapes markup", () => {
    expect(markdownText("a|b\n<img>")).toBe("a\\|b \\<img\\>");
  });

  it("numbers are exact literals", () => {
    expect(tsNumber(1048576)).toBe("1_048_576");
    expect(tsNumber(128)).toBe("128");
    expect(tsNumber(3e-4)).toBe("0.0003");
    expect(evaluate(tsNumber(-1234567))).toBe(-1234567);
    expect(() => tsNumber(Number.NaN)).toThrow();
  });

  it("tsValue sorts keys and escapes keys and values", () => {
    const text = tsValue({ b: 1, a: ["x\"y", null, true], "we-ird": "*/" });
    expect(text).toBe('{ a: ["x\\"y", null, true], b: 1, "we-ird": "*/" }');
    expect(evaluate(text)).toEqual({ b: 1, a: ['x"y', null, true], "we-ird": "*/" });
  });
});

describe("names: identifiers from spec names", () => {
  it("produces valid, non-reserved identifiers", () => {
    expect(camelIdentifier("blocks.1.ffw.peer")).toBe("blocks1FfwPeer");
    expect(camelIdentifier("class")).toBe("_class");
    expect(camelIdentifier("2x")).toBe("_2x");
    expect(camelIdentifier('a"b*/c')).toBe("aBC");
    expect(camelIdentifier("")).toBe("unnamed");
    expect(pascalIdentifier("peer_n[experts=16384]")).toBe("PeerNExperts16384");
    fc.assert(
      fc.property(fc.string(), (s) => {
        const id = camelIdentifier(s);
        // A valid identifier declares without a syntax error.
        vm.runInNewContext(`let ${id} = 1;`, {});
        return true;
      }),
    );
  });

  it("NameScope never hands out the same name twice", () => {
    const scope = new NameScope(["tf"]);
    expect(scope.claim("tf")).toBe("_tf");
    expect(scope.claim("a-b")).toBe("aB");
    expect(scope.claim("a_b")).toBe("aB_2");
    expect(scope.claim("a.b")).toBe("aB_3");
  });

  it("safeFileName keeps names inside one folder", () => {
    expect(safeFileName("peer_n[experts=16384]")).toBe("peer_n-experts-16384");
    expect(safeFileName("../../etc/passwd")).toBe("etc-passwd");
    expect(safeFileName("..")).toBe("model");
    fc.assert(fc.property(fc.string(), (s) => /^[a-z0-9][a-z0-9_-]{0,63}$/.test(safeFileName(s)) || safeFileName(s) === "model"));
  });
});

describe("write: nothing lands outside the output folder", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "peerc-emit-"));

  it("refuses names that leave the folder", () => {
    for (const bad of ["../x.ts", "/etc/x", "a/b.ts", "..", ".hidden", "a\\b", ""]) {
      expect(() => resolveInside("/tmp/out", bad)).toThrow(UnsafeOutputError);
    }
    expect(resolveInside("/tmp/out", "model.ts")).toBe(path.resolve("/tmp/out/model.ts"));
  });

  it("writes files and replaces a planted symlink instead of following it", () => {
    const dir = tmp();
    const victim = path.join(tmp(), "victim.txt");
    fs.writeFileSync(victim, "keep me");
    fs.symlinkSync(victim, path.join(dir, "model.ts"));
    writeOutputs(dir, [{ name: "model.ts", text: "export {};\n" }, { name: "README.md", text: "# hi\n" }]);
    expect(fs.readFileSync(victim, "utf8")).toBe("keep me");
    expect(fs.lstatSync(path.join(dir, "model.ts")).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(path.join(dir, "model.ts"), "utf8")).toBe("export {};\n");
    expect(fs.readdirSync(dir).sort()).toEqual(["README.md", "model.ts"]);
  });
});

describe("header", () => {
  it("names the spec, model and hash, with hostile names escaped", () => {
    const header = tsHeader({ spec: "../specs/x*/y.peer", model: "m\nprocess.exit(1)", hash: "ab".repeat(32) });
    expect(header).toContain("generated by peerc — do not edit");
    expect(header).toContain("sha256:" + "ab".repeat(32));
    // Every line is still a comment.
    for (const line of header.trimEnd().split("\n")) expect(line.startsWith("//")).toBe(true);
    expect(vm.runInNewContext(transpile("h.ts", header + "7"), {})).toBe(7);
    expect(() => tsHeader({ spec: "s", model: "m", hash: "not hex" })).toThrow();
  });
});
