/**
 * runtime/data — tokenizers, token caching, splits and batches.
 *
 * The training loop needs three calls:
 *
 *   const ds = openDataset({ path, tokenizer: "bytes" | "bpe", bpeVocab, valFraction, context, cacheDir? });
 *   //   throws DataError(path, message) for missing/empty/directory/binary/too-short data
 *   const sampler = new BatchSampler(ds.source, ds.train, context, batch, seed | savedState);
 *   const b = sampler.next();          // { rows, context, inputs: Int32Array[rows·context], targets }
 *   checkpointState.data = sampler.state();   // { rng: [4 × uint32], batchesDrawn } — JSON
 *
 * Validation: `for (const b of sequentialBatches(ds.source, ds.val, context, batch, maxBatches))`,
 * and `decodedByteLength(ds.tokenizer, b.targets)` gives the bytes for bits per byte.
 * Splits: the last floor(tokens × valFraction) tokens are validation (split.ts).
 * `builtinCorpus()` is the generated ~400 KiB text used when the spec has no data path.
 */
export { DataError } from "./errors.js";
export { Rng, type RngState } from "./rng.js";
export { type Tokenizer, decodedByteLength } from "./tokenizer.js";
export { ByteTokenizer } from "./byte-tokenizer.js";
export { BpeTokenizer, BpeFormatError, type Merge } from "./bpe.js";
export { trainBpe, trainBpeFromCounts, countPieces, type BpeTrainOptions } from "./bpe-train.js";
export { pretokenize, GPT2_PATTERN } from "./pretokenize.js";
export { builtinCorpus, generateCorpusText } from "./builtin-corpus.js";
export { type TokenSource, MemoryTokenSource, FileTokenSource } from "./source.js";
export { type Split, splitStream } from "./split.js";
export { BatchSampler, sequentialBatches, type Batch, type DataState } from "./batches.js";
export { cachedTokenIds, defaultCacheDir, fileFingerprint, readTextChunks, type TokenCacheEntry } from "./token-cache.js";
export { openDataset, BUILTIN_LABEL, BPE_TRAIN_SAMPLE_BYTES, type Dataset, type DatasetOptions } from "./dataset.js";
