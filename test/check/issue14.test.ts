/**
 * Issue 14, the front end's part: numbers no double holds, one file through
 * two paths, invalid UTF-8, train-section errors hiding others, and control
 * characters in diagnostics. Each case failed on the checker before the fix.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkFiles } from "../../compiler/check/index.js";
import { diskHost, decodeUtf8 } from "../../compiler/check/host.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { check, codes, modelWith, onlyModel } from "./helpers.js";

const trainWith = (body: string) => check(modelWith("  ffw(hidden: 128)") + `\ntrain m {\n  batch 8\n${body}\n}\n`);

describe("bug 1: numbers that are not finite, or outside a setting's range", () => {
  it.each([
    ["lr: 1e400", "  steps 10\n  optimizer adamw(lr: 1e400)", "E0205", 'lr'],
    ["lr: 1e308 * 10.0", "  steps 10\n  optimizer adamw(lr: 1e308 * 10.0)", "E0205", "lr"],
    ["lr: 1e2000 (no exact integer)", "  steps 10\n  optimizer adamw(lr: 1e2000)", "E0205", "1e2000"],
    ["flops 1e400", "  flops 1e400\n  optimizer adamw(lr: 1e-3)", "E0205", "flops"],
    ["flops 1e300", "  flops 1e300\n  optimizer adamw(lr: 1e-3)", "E0214", "flops"],
    ["lr above 1e4", "  steps 10\n  optimizer adamw(lr: 1e5)", "E0214", "lr"],
    ["eps above 1", "  steps 10\n  optimizer adamw(lr: 1e-3, eps: 2)", "E0214", "eps"],
  ])("%s is a located error", (_name, body, code, where) => {
    const r = trainWith(body);
    expect(r.program.models).toEqual([]);
    const d = r.diagnostics.find((x) => x.code === code);
    expect(d, JSON.stringify(r.diagnostics.map((x) => `${x.code} ${x.message}`))).toBeDefined();
    expect(d!.span).toBeDefined();
    const text = r.sources.get("spec.peer")!.text;
    const written = text.slice(d!.span!.offset, d!.span!.offset + d!.span!.length);
    expect(written.includes(where) || d!.message.includes(where)).toBe(true);
  });

  it("a FLOP budget below one optimizer step is E0513 at the value, not a silent 0 (or 1) steps", () => {
    const r = trainWith("  flops 1e3\n  optimizer adamw(lr: 1e-3)");
    expect(codes(r)).toEqual(["E0513"]);
    const d = r.diagnostics[0]!;
    expect(d.span!.line).toBe(13);
    expect(r.sources.get("spec.peer")!.text.slice(d.span!.offset, d.span!.offset + d.span!.length)).toBe("1e3");
    expect(d.message).toMatch(/no optimizer step/);
  });

  it("a FLOP budget with more steps than a run can count is E0513", () => {
    const r = trainWith("  flops 1e33\n  optimizer adamw(lr: 1e-3)");
    expect(codes(r)).toEqual(["E0513"]);
    expect(r.diagnostics[0]!.label).toMatch(/steps, above 9,007,199,254,740,991/);
  });

  it("a sensible FLOP budget and learning rate still check clean", () => {
    const m = onlyModel(trainWith("  flops 6e15\n  optimizer adamw(lr: 1e4)"));
    expect(m.train!.horizon).toEqual({ kind: "flops", flops: 6e15 });
    expect(m.train!.optimizer.lr).toBe(1e4);
  });

  it("a 300-digit integer is shown short in messages", () => {
    const r = trainWith("  flops 1e300\n  optimizer adamw(lr: 1e-3)");
    const d = r.diagnostics.find((x) => x.code === "E0214")!;
    expect(d.label).toBe("this is 1.000e300");
  });
});

describe("bug 10: an error in a train setting does not hide the section's other errors", () => {
  it("reports a bad setting together with two horizons (E0504) and micro_batch not dividing (E0505)", () => {
    const r = check(
      modelWith("  ffw(hidden: 128)") +
        "\ntrain m {\n  batch 8\n  micro_batch 3\n  steps 10\n  tokens 1M\n  optimizer adamw(lr: -1)\n  seed -4\n}\n",
    );
    expect(codes(r).sort()).toEqual(["E0210", "E0214", "E0504", "E0505"].sort());
  });

  it("a broken setting is not also reported missing", () => {
    const r = trainWith("  steps 10\n  optimizer adamw(lr: \"fast\")");
    expect(codes(r)).toEqual(["E0206"]);
  });

  it("a misspelt horizon is not also reported missing", () => {
    const r = trainWith("  stpes 10\n  optimizer adamw(lr: 1e-3)");
    expect(codes(r)).toEqual(["E0506"]);
  });
});

describe("bug 2: the same file through two paths is one file", () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "peerc-paths-")));
  fs.mkdirSync(path.join(dir, "lib"));
  fs.writeFileSync(path.join(dir, "lib", "dims.peer"), "let width = 64\n");
  fs.writeFileSync(path.join(dir, "lib", "blocks.peer"), 'import "dims.peer"\nlet hidden = 2 * width\n');
  const model = modelWith("  ffw(hidden: hidden)", { dim: 64 }).replace("dim: 64", "dim: width");
  fs.writeFileSync(path.join(dir, "a.peer"), `import "${path.join(dir, "lib", "dims.peer")}"\nimport "lib/blocks.peer"\n${model}`);

  it("an absolute and a relative import of one file read it once (no E0102)", () => {
    const r = checkFiles(["a.peer"], diskHost(dir));
    expect(r.diagnostics).toEqual([]);
    expect(r.sources.size).toBe(3);
  });

  it("one entry named twice (relative and absolute) is one file: no E0107, no E0501", () => {
    fs.writeFileSync(path.join(dir, "t.peer"), model.replace(/import.*\n/g, "").replace("dim: width", "dim: 64").replace("hidden: hidden", "hidden: 128") + "\ntrain m {\n  batch 8\n  steps 1\n  optimizer adamw(lr: 1e-3)\n}\n");
    const r = checkFiles(["t.peer", path.join(dir, "t.peer"), "./t.peer"], diskHost(dir));
    expect(codes(r)).toEqual([]);
    expect(r.program.models).toHaveLength(1);
  });

  it.skipIf(process.platform === "win32")("a symlink to a file is the file", () => {
    fs.symlinkSync(path.join(dir, "t.peer"), path.join(dir, "link.peer"));
    const r = checkFiles(["t.peer", "link.peer"], diskHost(dir));
    expect(codes(r)).toEqual([]);
    expect(r.program.models).toHaveLength(1);
  });
});

describe("bug 4: a spec that is not UTF-8", () => {
  it("decodeUtf8 finds the first bad byte's offset in the text", () => {
    const bytes = Buffer.concat([Buffer.from("héllo\n"), Buffer.from([0xe9]), Buffer.from(" x")]);
    const { text, invalidAt } = decodeUtf8(bytes);
    expect(invalidAt).toBe(6);
    expect(text[6]).toBe("\uFFFD");
    expect(decodeUtf8(Buffer.from("ok ✓")).invalidAt).toBeUndefined();
  });

  it("is E0007 at the bad byte's line and column", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-utf8-"));
    fs.writeFileSync(path.join(dir, "x.peer"), Buffer.concat([Buffer.from("model m {\n  vocab 256 // caf"), Buffer.from([0xe9]), Buffer.from("\n}\n")]));
    const r = checkFiles(["x.peer"], diskHost(dir));
    expect(codes(r)).toEqual(["E0007"]);
    expect(r.diagnostics[0]!.span).toMatchObject({ line: 2, column: 19 });
  });
});

describe("bug 12: control characters from a spec are shown as escapes", () => {
  const text = 'model m {\n  vocab 256\n  context 64\n  embed tokens(dim: 64)\n  norm "\\u{1b}]0;owned\\u{7}"\n  lm_head tied\n}\n// \u001b[8m hidden \u001b[0m\nx\u202e = 1\n';
  const r = check(text);

  it.each(["human", "json", "github"] as const)("in the %s format no ESC, BEL or bidi override reaches the output", (format) => {
    expect(r.diagnostics.length).toBeGreaterThan(0);
    const out = renderDiagnostics(r.diagnostics, r.sources, { format, color: false, maxErrors: 0 });
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it("a source line with a control character keeps the caret under the right text", () => {
    const src = "model m {\n  vocab 256 /* \u001b[8m */ vocab 3\n}\n";
    const res = check(src);
    const out = renderDiagnostics(res.diagnostics, res.sources, { format: "human", color: false, maxErrors: 0 });
    const lines = out.split("\n");
    const shown = lines.find((l) => l.includes("\\x1b[8m"))!;
    const caret = lines[lines.indexOf(shown) + 1]!;
    expect(shown).toBeDefined();
    const at = caret.indexOf("^");
    expect(shown.slice(at, at + 5)).toBe("vocab");
  });
});
