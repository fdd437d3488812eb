import { describe, expect, it } from "vitest";
import { check, codes, layer, modelWith } from "./helpers.js";

const hidden = (expr: string, pre = "") => layer(`  ffw(hidden: ${expr})`, "ffw", { pre }).hidden;

describe("integer arithmetic", () => {
  it("is exact beyond 2^53", () => {
    // In doubles 2^53 + 1 rounds to 2^53 and the difference would be 0.
    expect(hidden("(2^53 + 1) - 2^53 + 63")).toBe(64);
    expect(hidden("1024^2 * 4096 / 2^27")).toBe(32);
  });

  it("follows precedence and associativity", () => {
    expect(hidden("2 + 3 * 4")).toBe(14);
    expect(hidden("2^3^2 / 2^8")).toBe(2); // right-associative: 2^9 / 2^8
    expect(hidden("100 - 10 - 10")).toBe(80);
    expect(hidden("17 % 5")).toBe(2);
    expect(hidden("-2^2 + 8")).toBe(4);
  });

  it("uses suffixes exactly", () => {
    expect(hidden("4Ki / 2")).toBe(2048);
    expect(hidden("1.5K")).toBe(1500);
  });

  it("refuses a division that is not exact, offering both neighbours", () => {
    const r = check(modelWith("  ffw(hidden: 1000 / 3)"));
    expect(codes(r)).toEqual(["E0202"]);
    expect(r.diagnostics[0]!.help).toContain("999 / 3 = 333");
    expect(r.diagnostics[0]!.help).toContain("1,002 / 3 = 334");
    expect(r.program.models).toEqual([]);
  });

  it("reports division by zero, bad exponents and overflow", () => {
    expect(codes(check(modelWith("  ffw(hidden: 4 / (2 - 2))")))).toEqual(["E0203"]);
    expect(codes(check(modelWith("  ffw(hidden: 2 ^ -2)")))).toEqual(["E0204"]);
    expect(codes(check(modelWith("  ffw(hidden: 3 ^ 100000)")))).toEqual(["E0204"]);
    expect(codes(check(modelWith("  ffw(hidden: 2^31 + 1)")))).toEqual(["E0205"]);
    expect(hidden("2^31 / 2^20")).toBe(2048);
  });
});

describe("floats, percentages and types", () => {
  it("switches to float arithmetic when either side is a float", () => {
    expect(hidden("1.5 * 4")).toBe(6);
    const r = check(modelWith("  ffw(hidden: 1.5 * 3)"));
    expect(codes(r)).toEqual(["E0206"]);
    expect(r.diagnostics[0]!.message).toContain("4.5");
  });

  it("turns a percentage into a fraction where one is expected, and refuses it as a count", () => {
    const ok = check(
      modelWith("", { post: "train m {\n batch 8\n steps 10\n optimizer adamw(lr: 1e-3)\n data bytes(val: 2 * 2.5%)\n}" }),
    );
    expect(ok.program.models[0]!.train!.data.valFraction).toBeCloseTo(0.05, 12);
    expect(codes(check(modelWith("  ffw(hidden: 50%)")))).toEqual(["E0207"]);
  });

  it("reports operators applied to the wrong types", () => {
    const r = check(modelWith("  ffw(hidden: w)", { pre: 'let w = "a" * 2' }));
    expect(codes(r)).toEqual(["E0201"]);
    expect(r.diagnostics[0]!.message).toBe("cannot apply `*` to a string and an integer");
    expect(codes(check(modelWith("  if 1 and true { ffw(hidden: 8) }")))).toEqual(["E0201"]);
  });

  it("evaluates comparisons and boolean logic in conditions", () => {
    const layers = (cond: string) => check(modelWith(`  if ${cond} { ffw(hidden: 8) } else { ffw(hidden: 16) }`)).program.models[0]!.layers;
    const width = (cond: string) => (layers(cond).find((l) => l.kind === "ffw") as { hidden: number }).hidden;
    expect(width("2^10 == 1024 and not (3 < 2)")).toBe(8);
    expect(width("1 > 2 or 2 >= 3")).toBe(16);
    expect(width("gelu == gelu")).toBe(8);
    expect(width("0.5 < 50%")).toBe(16);
  });

  it("treats an unbound name as a word, and says so where a number is needed", () => {
    const r = check(modelWith("  ffw(hidden: wdith)", { pre: "let width = 64" }));
    expect(codes(r)).toContain("E0206");
    const d = r.diagnostics.find((x) => x.code === "E0206")!;
    expect(d.message).toContain("the word wdith");
  });

  it("refuses a let defined in terms of itself", () => {
    const r = check(modelWith("  ffw(hidden: a)", { pre: "let a = b + 1\nlet b = a * 2" }));
    expect(codes(r)).toContain("E0108");
  });
});
