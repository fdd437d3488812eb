import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BpeTokenizer,
  ByteTokenizer,
  builtinCorpus,
  countPieces,
  pretokenize,
  trainBpe,
  trainBpeFromCounts,
} from "../../runtime/data/index.js";
import { BYTE_TO_UNICODE } from "../../runtime/data/byte-unicode.js";

const enc = new TextEncoder();
const corpusSample = builtinCorpus().subarray(0, 60_000);
const tokenizer = trainBpe([corpusSample], { vocabSize: 600 });

function pieces(bytes: Uint8Array): (string | number)[] {
  const out: (string | number)[] = [];
  pretokenize(bytes, (p) => out.push(p));
  return out;
}

/** Reference encoder: for each merge in rank order, merge every occurrence in each piece. */
function referenceEncode(tok: BpeTokenizer, bytes: Uint8Array): number[] {
  const merges = tok.merges();
  const json = JSON.parse(tok.toJSON()) as { model: { vocab: Record<string, number> } };
  const byteId = (b: number): number => json.model.vocab[BYTE_TO_UNICODE[b]];
  const idOf = new Map(Object.entries(json.model.vocab));
  const symbolOf = new Map([...idOf].map(([s, id]) => [id, s]));
  const out: number[] = [];
  for (const piece of pieces(bytes)) {
    let syms = typeof piece === "number" ? [byteId(piece)] : Array.from(enc.encode(piece), byteId);
    for (const [a, b] of merges) {
      const merged = idOf.get(symbolOf.get(a)! + symbolOf.get(b)!)!;
      const next: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(syms[i]);
      }
      syms = next;
    }
    out.push(...syms);
  }
  return out;
}

/** Reference trainer: recount every pair after each merge (slow, obviously right). */
function referenceTrain(text: string, merges: number): [number, number][] {
  const counts = countPieces([enc.encode(text)]);
  const words = [...counts].map(([w, f]) => ({ syms: Array.from(enc.encode(w)), f }));
  const result: [number, number][] = [];
  for (let next = 256; result.length < merges; next++) {
    const pairs = new Map<string, number>();
    for (const { syms, f } of words) {
      for (let i = 0; i + 1 < syms.length; i++) pairs.set(`${syms[i]},${syms[i + 1]}`, (pairs.get(`${syms[i]},${syms[i + 1]}`) ?? 0) + f);
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(",").map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null || bestCount < 2) break;
    result.push(best);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === best[0] && w.syms[i + 1] === best[1]) {
          out.push(next);
          i++;
        } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return result;
}

describe("pre-tokenisation", () => {
  it("splits like GPT-2: contractions, leading spaces, trailing whitespace runs", () => {
    expect(pieces(enc.encode("Hello world's  test 42!!\n\nok"))).toEqual([
      "Hello", " world", "'s", " ", " test", " 42", "!!", "\n", "\n", "ok",
    ]);
  });

  it("turns each byte of invalid UTF-8 into its own piece and keeps valid text around it", () => {
    const bytes = Uint8Array.from([0x61, 0x62, 0xff, 0xc3, 0x28, 0x20, 0x63]);
    expect(pieces(bytes)).toEqual(["ab", 0xff, 0xc3, "(", " c"]);
  });
});

describe("byte tokenizer", () => {
  it("round-trips any bytes with ids equal to byte values", () => {
    const t = new ByteTokenizer();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const ids = t.encode(bytes);
        expect(Array.from(ids)).toEqual(Array.from(bytes));
        expect(Array.from(t.decode(ids))).toEqual(Array.from(bytes));
      }),
    );
  });
});

describe("BPE tokenizer", () => {
  it("round-trips arbitrary bytes, including invalid UTF-8 and NUL", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(Array.from(tokenizer.decode(tokenizer.encode(bytes)))).toEqual(Array.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a leading byte-order mark, valid or followed by invalid bytes", () => {
    for (const bytes of [Uint8Array.of(0xef, 0xbb, 0xbf, 0x61), Uint8Array.of(0xef, 0xbb, 0xbf, 0xff, 0x20)]) {
      expect(Array.from(tokenizer.decode(tokenizer.encode(bytes)))).toEqual(Array.from(bytes));
    }
  });

  it("round-trips arbitrary unicode text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (s) => {
        expect(new TextDecoder().decode(tokenizer.decode(tokenizer.encode(enc.encode(s))))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  it("applies merges in rank order (matches a merge-by-merge reference encoder)", () => {
    const text = new TextDecoder().decode(builtinCorpus().subarray(100_000, 110_000)) + " zebra's 1234 ünïcödé \u{1F600}";
    const bytes = enc.encode(text);
    expect(Array.from(tokenizer.encode(bytes))).toEqual(referenceEncode(tokenizer, bytes));
  });

  it("lets rank decide between competing merges", () => {
    const tokens = [...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), enc.encode("bc"), enc.encode("ab")];
    const a = 0x61, b = 0x62, c = 0x63;
    const bcFirst = new BpeTokenizer(tokens, [[b, c], [a, b]]);
    const abFirst = new BpeTokenizer(tokens, [[a, b], [b, c]]);
    expect(Array.from(bcFirst.encode(enc.encode("abc")))).toEqual([a, 256]);
    expect(Array.from(abFirst.encode(enc.encode("abc")))).toEqual([257, c]);
  });

  it("trains the same merges as a recount-everything reference trainer", () => {
    const text = new TextDecoder().decode(builtinCorpus().subarray(0, 12_000));
    const expected = referenceTrain(text, 120);
    const trained = trainBpe([enc.encode(text)], { vocabSize: 256 + 120 });
    expect(trained.merges()).toEqual(expected);
    expect(expected.length).toBe(120);
  });

  it("is deterministic: same corpus, same tokenizer and ids; cold and warm cache agree", () => {
    const again = trainBpe([corpusSample], { vocabSize: 600 });
    expect(again.toJSON()).toBe(tokenizer.toJSON());
    expect(again.hash).toBe(tokenizer.hash);
    const bytes = builtinCorpus().subarray(200_000, 230_000);
    const cold = again.encode(bytes);
    const warm = again.encode(bytes);
    expect(Array.from(warm)).toEqual(Array.from(cold));
    expect(Array.from(tokenizer.encode(bytes))).toEqual(Array.from(cold));
  });

  it("compresses the corpus it was trained on", () => {
    const bytes = builtinCorpus().subarray(300_000, 340_000);
    expect(tokenizer.encode(bytes).length).toBeLessThan(bytes.length / 2.5);
  });

  it("saves HF tokenizer.json (BPE model with vocab and merges) and loads it back identically", () => {
    const doc = JSON.parse(tokenizer.toJSON());
    expect(doc.model.type).toBe("BPE");
    expect(Object.keys(doc.model.vocab)).toHaveLength(tokenizer.vocabSize);
    expect(doc.model.vocab["Ġ"]).toBe(0x20);
    expect(doc.model.merges).toHaveLength(tokenizer.mergeCount);
    for (const m of doc.model.merges) expect(m.split(" ")).toHaveLength(2);
    const loaded = BpeTokenizer.fromJSON(tokenizer.toJSON());
    expect(loaded.hash).toBe(tokenizer.hash);
    const bytes = enc.encode("The old dog watches the river. Ada lives in Lisbon.");
    expect(Array.from(loaded.encode(bytes))).toEqual(Array.from(tokenizer.encode(bytes)));
  });

  it("loads a tokenizer.json with arbitrary id order (GPT-2 style) and array merges", () => {
    // Same tokens, ids reversed: encoding must give the same tokens under the new ids.
    const doc = JSON.parse(tokenizer.toJSON());
    const n = tokenizer.vocabSize;
    const vocab: Record<string, number> = {};
    for (const [s, id] of Object.entries(doc.model.vocab as Record<string, number>)) vocab[s] = n - 1 - id;
    doc.model.vocab = vocab;
    doc.model.merges = doc.model.merges.map((m: string) => m.split(" "));
    const reordered = BpeTokenizer.fromJSON(JSON.stringify(doc));
    const bytes = enc.encode("Bruno has a rabbit and likes apples.");
    const ids = tokenizer.encode(bytes);
    expect(Array.from(reordered.encode(bytes))).toEqual(Array.from(ids, (id) => n - 1 - id));
  });

  it("rejects malformed tokenizer.json with a reason", () => {
    expect(() => BpeTokenizer.fromJSON("{")).toThrow(/not JSON/);
    expect(() => BpeTokenizer.fromJSON(JSON.stringify({ model: { type: "WordPiece" } }))).toThrow(/BPE/);
    const doc = JSON.parse(tokenizer.toJSON());
    doc.model.merges.push("zz qq");
    expect(() => BpeTokenizer.fromJSON(JSON.stringify(doc))).toThrow(/missing from the vocab/);
  });

  it("trainBpeFromCounts stops at the requested vocabulary size", () => {
    const t = trainBpeFromCounts(countPieces([corpusSample]), { vocabSize: 300 });
    expect(t.vocabSize).toBe(300);
    expect(t.mergeCount).toBe(44);
  });
});
