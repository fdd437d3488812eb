import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSpec } from "../../grammar/parse.js";
import { formatSource } from "../../grammar/printer.js";
import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import type { Span } from "../../diagnostics/source.js";
import { mutateSpec } from "./mutate.js";
import { PEER_C4, TINY } from "./fixtures.js";
import { shape } from "./shape.js";

/** A deterministic generator from a seed (mulberry32), so a failing case can be replayed. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inBounds(span: Span | undefined, text: string): boolean {
  if (!span) return false;
  return span.offset >= 0 && span.length >= 0 && span.offset + span.length <= text.length && span.line >= 1 && span.column >= 1;
}

function allSpans(d: Diagnostic): (Span | undefined)[] {
  return [d.span, ...d.labels.map((l) => l.span)];
}

const BASES = [TINY, PEER_C4];

describe("robustness under mutation", () => {
  it("never throws, keeps spans in bounds, and formats whatever still parses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BASES.length - 1 }), fc.integer(), fc.integer({ min: 1, max: 4 }), (base, seed, rounds) => {
        const rng = rngFrom(seed);
        let text = BASES[base]!;
        for (let i = 0; i < rounds; i++) text = mutateSpec(text, rng);
        const { file, diagnostics } = parseSpec({ path: "m.peer", text });
        expect(diagnostics.every((d) => d.code !== "E0098")).toBe(true);
        for (const d of diagnostics) for (const s of allSpans(d)) expect(inBounds(s, text)).toBe(true);
        expect(inBounds(file.span, text)).toBe(true);
        if (diagnostics.length === 0) {
          const once = formatSource({ path: "m.peer", text }).text!;
          expect(formatSource({ path: "m.peer", text: once }).text).toBe(once);
          expect(shape(parseSpec({ path: "m.peer", text: once }).file)).toEqual(shape(file));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("survives arbitrary strings, including NUL and lone surrogates", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const { diagnostics } = parseSpec({ path: "r.peer", text });
        for (const d of diagnostics) for (const s of allSpans(d)) expect(inBounds(s, text)).toBe(true);
        expect(diagnostics.every((d) => d.code !== "E0098")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("mutateSpec is deterministic for a seed", () => {
    expect(mutateSpec(TINY, rngFrom(7))).toBe(mutateSpec(TINY, rngFrom(7)));
  });
});
