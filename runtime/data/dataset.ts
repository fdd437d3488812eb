/**
 * Open training data: check the file, get a tokenizer (bytes, a given
 * tokenizer.json, or a BPE trained on the file and cached), get the token
 * stream (file bytes by offset, or cached ids), and split it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BpeFormatError, BpeTokenizer } from "./bpe.js";
import { trainBpe } from "./bpe-train.js";
import { builtinCorpus } from "./builtin-corpus.js";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { DataError } from "./errors.js";
import { FileTokenSource, MemoryTokenSource, type TokenSource } from "./source.js";
import { splitStream, type Split } from "./split.js";
import { cachedTokenIds, defaultCacheDir, fileFingerprint, readTextChunks } from "./token-cache.js";
import type { Tokenizer } from "./tokenizer.js";
import { checkDataFile, checkNotAllNul, checkTextFile } from "./validate.js";

export const BUILTIN_LABEL = "<built-in corpus>";
/** A BPE tokenizer is trained on at most this many leading bytes of the file. */
export const BPE_TRAIN_SAMPLE_BYTES = 32 << 20;

export interface DatasetOptions {
  /** The data file; null = the built-in corpus. */
  readonly path: string | null;
  readonly tokenizer: "bytes" | "bpe";
  /** Vocabulary size when a BPE tokenizer must be trained (default 4096). */
  readonly bpeVocab?: number | null;
  /** Fraction of tokens at the end of the stream used for validation, in [0, 1). */
  readonly valFraction: number;
  /** Tokens per training window (each split must hold context + 1 tokens). */
  readonly context: number;
  /** Token and tokenizer cache (default defaultCacheDir()). */
  readonly cacheDir?: string;
  /** Use this tokenizer.json instead of training one (BPE only). */
  readonly tokenizerFile?: string;
  /** Told about slow steps (BPE training, tokenizing a file). */
  readonly onProgress?: (message: string) => void;
}

export interface Dataset {
  /** The file path, or BUILTIN_LABEL. */
  readonly label: string;
  readonly tokenizer: Tokenizer;
  readonly source: TokenSource;
  readonly train: Split;
  readonly val: Split;
  /** Bytes of data behind the token stream. */
  readonly bytes: number;
  /** The tokenizer.json used or written (BPE on a file), else null. */
  readonly tokenizerPath: string | null;
  close(): void;
}

function loadTokenizerFile(file: string): BpeTokenizer {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new DataError(file, `tokenizer file cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return BpeTokenizer.fromJSON(text);
  } catch (e) {
    if (e instanceof BpeFormatError) throw new DataError(file, `not a usable byte-level BPE tokenizer.json: ${e.message}`);
    throw e;
  }
}

function* limitBytes(chunks: Iterable<Uint8Array>, limit: number): Generator<Uint8Array> {
  let seen = 0;
  for (const chunk of chunks) {
    if (seen >= limit) return;
    yield chunk.subarray(0, Math.min(chunk.length, limit - seen));
    seen += chunk.length;
  }
}

/** Trained BPE tokenizer for `file`, cached by file fingerprint and vocab size. */
function bpeForFile(file: string, vocab: number, cacheDir: string, onProgress?: (m: string) => void): { tokenizer: BpeTokenizer; path: string } {
  const key = createHash("sha256").update(`${fileFingerprint(file)}:${vocab}`).digest("hex").slice(0, 32);
  const tokPath = path.join(cacheDir, `bpe-${key}.json`);
  if (fs.existsSync(tokPath)) {
    try {
      return { tokenizer: BpeTokenizer.fromJSON(fs.readFileSync(tokPath, "utf8")), path: tokPath };
    } catch {
      // a damaged cache entry is retrained below
    }
  }
  onProgress?.(`training a BPE tokenizer (vocab ${vocab}) on ${file}`);
  const tokenizer = trainBpe(limitBytes(readTextChunks(file), BPE_TRAIN_SAMPLE_BYTES), { vocabSize: vocab });
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(`${tokPath}.tmp-${process.pid}`, tokenizer.toJSON());
  fs.renameSync(`${tokPath}.tmp-${process.pid}`, tokPath);
  return { tokenizer, path: tokPath };
}

function checkLength(label: string, total: number, bytes: number, train: Split, val: Split, options: DatasetOptions): void {
  const need = options.context + 1;
  const short = train.length < need || (options.valFraction > 0 && val.length < need);
  if (!short) return;
  const unit = options.tokenizer === "bytes" ? "bytes" : "tokens";
  const fmt = (n: number): string => n.toLocaleString("en-US");
  throw new DataError(
    label,
    `too short for context ${fmt(options.context)}: ${fmt(total)} ${unit}` +
      (options.tokenizer === "bytes" ? "" : ` (${fmt(bytes)} bytes)`) +
      ` give a training split of ${fmt(train.length)} and a validation split of ${fmt(val.length)} ${unit}` +
      ` (val ${options.valFraction}); each split needs at least ${fmt(need)}`,
  );
}

/** Open a dataset; bad input throws DataError. Call close() when done. */
export function openDataset(options: DatasetOptions): Dataset {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const vocab = options.bpeVocab ?? 4096;
  let tokenizer: Tokenizer;
  let source: TokenSource;
  let bytes: number;
  let tokenizerPath: string | null = null;
  const label = options.path ?? BUILTIN_LABEL;

  if (options.path === null) {
    const corpus = builtinCorpus();
    bytes = corpus.length;
    if (options.tokenizer === "bytes") {
      tokenizer = new ByteTokenizer();
      source = new MemoryTokenSource(corpus);
    } else {
      tokenizer = options.tokenizerFile ? loadTokenizerFile(options.tokenizerFile) : trainBpe([corpus], { vocabSize: vocab });
      tokenizerPath = options.tokenizerFile ?? null;
      source = new MemoryTokenSource(tokenizer.encode(corpus));
    }
  } else {
    const file = options.path;
    bytes = checkDataFile(file);
    if (options.tokenizer === "bytes") {
      checkNotAllNul(file, bytes);
      tokenizer = new ByteTokenizer();
      source = new FileTokenSource(file, 1, bytes);
    } else {
      checkTextFile(file, bytes);
      if (options.tokenizerFile) {
        tokenizer = loadTokenizerFile(options.tokenizerFile);
        tokenizerPath = options.tokenizerFile;
      } else {
        const trained = bpeForFile(file, vocab, cacheDir, options.onProgress);
        tokenizer = trained.tokenizer;
        tokenizerPath = trained.path;
      }
      const entry = cachedTokenIds(file, tokenizer, cacheDir);
      if (!entry.reused) options.onProgress?.(`tokenized ${file}: ${entry.tokens.toLocaleString("en-US")} tokens cached`);
      source = new FileTokenSource(entry.idsPath, entry.width, entry.tokens);
    }
  }
  const { train, val } = splitStream(source.length, options.valFraction);
  try {
    checkLength(label, source.length, bytes, train, val, options);
  } catch (e) {
    source.close();
    throw e;
  }
  return { label, tokenizer, source, train, val, bytes, tokenizerPath, close: () => source.close() };
}
