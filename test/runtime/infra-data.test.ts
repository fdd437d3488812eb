import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BatchSampler,
  DataError,
  MemoryTokenSource,
  Rng,
  builtinCorpus,
  cachedTokenIds,
  decodedByteLength,
  generateCorpusText,
  openDataset,
  readTextChunks,
  sequentialBatches,
  splitStream,
  trainBpe,
} from "../../runtime/data/index.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-infra-data-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array): string => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
};
const cacheDir = path.join(tmp, "cache");

function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error("expected a DataError");
}

describe("Rng (xoshiro128**)", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = Rng.fromSeed(7);
    const b = Rng.fromSeed(7);
    const c = Rng.fromSeed(8);
    const xs = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(xs);
  });

  it("resumes exactly from a JSON round trip of its state", () => {
    const a = Rng.fromSeed(123);
    for (let i = 0; i < 50; i++) a.nextInt(1000);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = Rng.fromState(saved);
    expect(Array.from({ length: 30 }, () => b.nextInt(97))).toEqual(Array.from({ length: 30 }, () => a.nextInt(97)));
  });

  it("draws integers in range covering all values roughly uniformly", () => {
    const r = Rng.fromSeed(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[r.nextInt(10)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
});

describe("built-in corpus", () => {
  it("is deterministic ASCII text of a few hundred KiB", () => {
    const c = builtinCorpus();
    expect(c.length).toBeGreaterThan(300 * 1024);
    expect(c.length).toBeLessThan(600 * 1024);
    expect(c.every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))).toBe(true);
    expect(generateCorpusText(c.length, 20240704)).toBe(new TextDecoder().decode(c));
  });

  it("has learnable structure: a bigram model beats the unigram entropy on the validation split by far", () => {
    const c = builtinCorpus();
    const { train, val } = splitStream(c.length, 0.1);
    const uni = new Float64Array(256).fill(1);
    const bi = new Float64Array(256 * 256).fill(0.01);
    for (let i = train.start; i < train.start + train.length; i++) {
      uni[c[i]]++;
      if (i > 0) bi[c[i - 1] * 256 + c[i]]++;
    }
    const uniTotal = uni.reduce((a, b) => a + b, 0);
    const rowTotals = new Float64Array(256);
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) rowTotals[a] += bi[a * 256 + b];
    let uniBits = 0;
    let biBits = 0;
    for (let i = val.start; i < val.start + val.length; i++) {
      uniBits -= Math.log2(uni[c[i]] / uniTotal);
      biBits -= Math.log2(bi[c[i - 1] * 256 + c[i]] / rowTotals[c[i - 1]]);
    }
    expect(biBits / val.length).toBeLessThan(0.7 * (uniBits / val.length));
  });
});

describe("splits and batches", () => {
  const ids = Uint32Array.from({ length: 10_000 }, (_, i) => i); // token value = its position
  const source = new MemoryTokenSource(ids);

  it("puts the last floor(total × val) tokens in validation", () => {
    expect(splitStream(10_000, 0.05)).toEqual({ train: { start: 0, length: 9500 }, val: { start: 9500, length: 500 } });
    expect(splitStream(101, 0.1).val.length).toBe(10);
    expect(splitStream(100, 0).val.length).toBe(0);
  });

  it("samples [batch, context+1] windows inside the training split with targets shifted by one", () => {
    const { train } = splitStream(ids.length, 0.1);
    const sampler = new BatchSampler(source, train, 32, 8, 42);
    for (let step = 0; step < 60; step++) {
      const b = sampler.next();
      expect(b.inputs.length).toBe(8 * 32);
      for (let r = 0; r < 8; r++) {
        const start = b.inputs[r * 32];
        expect(start + 32).toBeLessThan(train.length); // the last target is still a training token
        for (let t = 0; t < 32; t++) {
          expect(b.inputs[r * 32 + t]).toBe(start + t);
          expect(b.targets[r * 32 + t]).toBe(start + t + 1);
        }
      }
    }
  });

  it("resumes the exact batch sequence from a saved state", () => {
    const { train } = splitStream(ids.length, 0.1);
    const a = new BatchSampler(source, train, 16, 4, 9);
    for (let i = 0; i < 13; i++) a.next();
    const state = JSON.parse(JSON.stringify(a.state()));
    expect(state.batchesDrawn).toBe(13);
    const b = new BatchSampler(source, train, 16, 4, state);
    for (let i = 0; i < 5; i++) expect(Array.from(b.next().inputs)).toEqual(Array.from(a.next().inputs));
    expect(b.state()).toEqual(a.state());
  });

  it("tiles the validation split in order, each token a target once", () => {
    const { val } = splitStream(ids.length, 0.1);
    const seen: number[] = [];
    let rows = 0;
    for (const b of sequentialBatches(source, val, 64, 3)) {
      rows += b.rows;
      for (let i = 0; i < b.targets.length; i++) expect(b.targets[i]).toBe(b.inputs[i] + 1);
      seen.push(...b.targets);
    }
    expect(rows).toBe(Math.floor((val.length - 1) / 64));
    expect(seen).toEqual(Array.from({ length: rows * 64 }, (_, i) => val.start + 1 + i));
    expect([...sequentialBatches(source, val, 64, 3, 2)]).toHaveLength(2);
  });
});

describe("openDataset", () => {
  const text = new TextDecoder().decode(builtinCorpus().subarray(0, 120_000));

  it("reads byte-level data from the file by offset, with the split and sizes", () => {
    const p = file("bytes.txt", text);
    const ds = openDataset({ path: p, tokenizer: "bytes", valFraction: 0.1, context: 64, cacheDir });
    expect(ds.source.length).toBe(120_000);
    expect(ds.val).toEqual({ start: 108_000, length: 12_000 });
    const out = new Int32Array(10);
    ds.source.read(5000, out);
    expect(Array.from(out)).toEqual(Array.from(builtinCorpus().subarray(5000, 5010)));
    ds.close();
  });

  it("accepts binary data byte-level, but refuses an all-NUL file", () => {
    const bin = new Uint8Array(5000).map((_, i) => (i * 37) & 0xff);
    const ds = openDataset({ path: file("bin.dat", bin), tokenizer: "bytes", valFraction: 0.1, context: 16, cacheDir });
    expect(ds.source.length).toBe(5000);
    ds.close();
    const e = dataError(() => openDataset({ path: file("zeros.dat", new Uint8Array(4096)), tokenizer: "bytes", valFraction: 0.1, context: 16, cacheDir }));
    expect(e.message).toMatch(/all 4,096 bytes are NUL/);
    expect(e.path).toContain("zeros.dat");
  });

  it("trains and caches a BPE tokenizer and token ids, and reuses both", () => {
    const p = file("bpe.txt", text);
    const progress: string[] = [];
    const ds = openDataset({ path: p, tokenizer: "bpe", bpeVocab: 500, valFraction: 0.05, context: 32, cacheDir, onProgress: (m) => progress.push(m) });
    expect(progress.some((m) => m.includes("training a BPE tokenizer"))).toBe(true);
    expect(ds.tokenizer.vocabSize).toBe(500);
    expect(fs.existsSync(ds.tokenizerPath!)).toBe(true);
    const all = new Int32Array(ds.source.length);
    ds.source.read(0, all);
    expect(new TextDecoder().decode(ds.tokenizer.decode(all))).toBe(text);
    ds.close();

    const again: string[] = [];
    const ds2 = openDataset({ path: p, tokenizer: "bpe", bpeVocab: 500, valFraction: 0.05, context: 32, cacheDir, onProgress: (m) => again.push(m) });
    expect(again).toEqual([]); // neither trained nor tokenized again
    expect(ds2.tokenizer.hash).toBe(ds.tokenizer.hash);
    expect(ds2.source.length).toBe(all.length);
    ds2.close();
  });

  it("re-encodes when the file changes, and stores Uint16 ids for small vocabularies", () => {
    const p = file("changing.txt", text);
    const tok = trainBpe([new TextEncoder().encode(text)], { vocabSize: 400 });
    const first = cachedTokenIds(p, tok, cacheDir);
    expect(first.reused).toBe(false);
    expect(first.width).toBe(2);
    expect(fs.statSync(first.idsPath).size).toBe(first.tokens * 2);
    expect(cachedTokenIds(p, tok, cacheDir).reused).toBe(true);
    fs.writeFileSync(p, text + " More text at the end.");
    const changed = cachedTokenIds(p, tok, cacheDir);
    expect(changed.reused).toBe(false);
    expect(changed.idsPath).not.toBe(first.idsPath);
  });

  it("tokenizes in chunks with the same ids as encoding the whole file", () => {
    const tok = trainBpe([builtinCorpus()], { vocabSize: 700 });
    const p = file("lines.txt", text.replace(/\n\n/g, "\n"));
    const whole = tok.encode(fs.readFileSync(p));
    const pieces = [...readTextChunks(p, 4096)].map((c) => Array.from(tok.encode(c)));
    expect(pieces.length).toBeGreaterThan(20);
    expect(pieces.flat()).toEqual(Array.from(whole));
    // The cache writer streams the same way: ids on disk equal the whole-file encoding.
    const entry = cachedTokenIds(p, tok, path.join(tmp, "chunk-cache"), 3000);
    const onDisk = fs.readFileSync(entry.idsPath);
    expect(Array.from({ length: entry.tokens }, (_, i) => onDisk.readUInt16LE(2 * i))).toEqual(Array.from(whole));
  });

  it("counts decoded bytes of BPE targets for bits per byte", () => {
    const ds = openDataset({ path: null, tokenizer: "bpe", bpeVocab: 600, valFraction: 0.1, context: 128 });
    const [b] = [...sequentialBatches(ds.source, ds.val, 128, 4, 1)];
    const bytes = decodedByteLength(ds.tokenizer, b.targets);
    expect(bytes).toBe(ds.tokenizer.decode(b.targets).length);
    expect(bytes).toBeGreaterThan(b.targets.length);
    ds.close();
  });

  it("uses the built-in corpus when there is no path", () => {
    const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: 0.01, context: 256 });
    expect(ds.label).toBe("<built-in corpus>");
    expect(ds.bytes).toBe(builtinCorpus().length);
    expect(ds.train.length + ds.val.length).toBe(builtinCorpus().length);
    ds.close();
  });
});

describe("bad data input", () => {
  const opts = { tokenizer: "bytes" as const, valFraction: 0.1, context: 64, cacheDir };

  it("missing file", () => {
    const e = dataError(() => openDataset({ ...opts, path: path.join(tmp, "nope.txt") }));
    expect(e.message).toBe("data file not found");
    expect(e.describe()).toBe(`${path.join(tmp, "nope.txt")}: data file not found`);
  });

  it("empty file", () => {
    expect(dataError(() => openDataset({ ...opts, path: file("empty.txt", "") })).message).toBe("data file is empty");
  });

  it("a directory", () => {
    expect(dataError(() => openDataset({ ...opts, path: tmp })).message).toMatch(/is a directory/);
  });

  it("binary file for BPE: NUL bytes, or mostly invalid UTF-8", () => {
    const withNul = new TextEncoder().encode("hello world ".repeat(50));
    withNul[300] = 0;
    const e1 = dataError(() => openDataset({ ...opts, tokenizer: "bpe", path: file("nul.txt", withNul) }));
    expect(e1.message).toMatch(/looks binary \(NUL byte at offset 300\)/);
    const latin1 = new Uint8Array(4000).map((_, i) => (i % 3 === 0 ? 0xe9 : 0x61));
    const e2 = dataError(() => openDataset({ ...opts, tokenizer: "bpe", path: file("latin1.txt", latin1) }));
    expect(e2.message).toMatch(/33\.\d% of the bytes .* not valid UTF-8/);
  });

  it("too short for the context, with the sizes", () => {
    const e = dataError(() => openDataset({ ...opts, path: file("short.txt", "a".repeat(500)) }));
    expect(e.message).toBe(
      "too short for context 64: 500 bytes give a training split of 450 and a validation split of 50 bytes (val 0.1); each split needs at least 65",
    );
  });
});
