/**
 * Encode a data file once and keep its token ids on disk: `<key>.ids` holds
 * little-endian Uint16 (vocab ≤ 65536) or Uint32 ids, `<key>.json` its
 * metadata. The key hashes (file size, mtime, sha256 of the first and last
 * MiB, tokenizer hash), so an edited file or another tokenizer misses.
 * Both files are written under temporary names and renamed, metadata last:
 * a crash mid-way leaves no entry that looks complete.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { safeCut } from "./pretokenize.js";
import type { Tokenizer } from "./tokenizer.js";

const MIB = 1 << 20;
/** Bytes encoded per chunk when tokenizing a file. */
const CHUNK_BYTES = 8 * MIB;

/** `$XDG_CACHE_HOME/peerc` or `~/.cache/peerc`. */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "peerc");
}

/** sha256 over the identity of a file's content: size, mtime, first and last MiB. */
export function fileFingerprint(file: string): string {
  const st = fs.statSync(file);
  const hash = createHash("sha256").update(`${st.size}:${st.mtimeMs}:`);
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(Math.min(MIB, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    hash.update(head);
    const tailLength = Math.min(MIB, st.size);
    const tail = Buffer.alloc(tailLength);
    fs.readSync(fd, tail, 0, tailLength, st.size - tailLength);
    hash.update(tail);
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

export interface TokenCacheEntry {
  /** The id file. */
  readonly idsPath: string;
  /** Bytes per id: 2 or 4. */
  readonly width: 2 | 4;
  readonly tokens: number;
  /** Size of the source file when it was encoded. */
  readonly bytes: number;
  /** True when this call found the entry instead of encoding. */
  readonly reused: boolean;
}

interface CacheMeta {
  readonly version: 1;
  readonly source: string;
  readonly tokenizer: string;
  readonly width: 2 | 4;
  readonly tokens: number;
  readonly bytes: number;
}

/** Yields a file's bytes in chunks that end at pre-tokenisation-safe points. */
export function* readTextChunks(file: string, chunkBytes = CHUNK_BYTES): Generator<Uint8Array> {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    let pos = 0;
    while (pos < size) {
      const length = Math.min(chunkBytes, size - pos);
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      const view = new Uint8Array(buf.buffer, buf.byteOffset, got);
      const safe = pos + got >= size ? got : safeCut(view, got - 1);
      const cut = safe > 0 ? safe : got;
      yield view.subarray(0, cut);
      pos += cut;
      if (got === 0) break;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Return the cached ids of `file` under `tokenizer`, encoding the file on a
 * miss chunk by chunk (`chunkBytes` at a time, so memory stays bounded).
 */
export function cachedTokenIds(file: string, tokenizer: Tokenizer, cacheDir: string, chunkBytes = CHUNK_BYTES): TokenCacheEntry {
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 1, file: fileFingerprint(file), tokenizer: tokenizer.hash }))
    .digest("hex")
    .slice(0, 32);
  const idsPath = path.join(cacheDir, `${key}.ids`);
  const metaPath = path.join(cacheDir, `${key}.json`);
  try {
    const meta = JSON.parse(fs.readFileSync(metaPath, "utf8")) as CacheMeta;
    if (meta.version === 1 && fs.statSync(idsPath).size === meta.tokens * meta.width) {
      return { idsPath, width: meta.width, tokens: meta.tokens, bytes: meta.bytes, reused: true };
    }
  } catch {
    // no usable entry: encode below
  }

  fs.mkdirSync(cacheDir, { recursive: true });
  const width: 2 | 4 = tokenizer.vocabSize <= 65536 ? 2 : 4;
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(idsPath + suffix, "w");
  let tokens = 0;
  let bytes = 0;
  try {
    for (const chunk of readTextChunks(file, chunkBytes)) {
      bytes += chunk.length;
      const ids = tokenizer.encode(chunk);
      const out = Buffer.alloc(ids.length * width);
      if (width === 2) for (let i = 0; i < ids.length; i++) out.writeUInt16LE(ids[i], 2 * i);
      else for (let i = 0; i < ids.length; i++) out.writeUInt32LE(ids[i], 4 * i);
      fs.writeSync(fd, out, 0, out.length, tokens * width);
      tokens += ids.length;
    }
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(idsPath + suffix, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(idsPath + suffix, idsPath);
  const meta: CacheMeta = { version: 1, source: path.resolve(file), tokenizer: tokenizer.hash, width, tokens, bytes };
  fs.writeFileSync(metaPath + suffix, JSON.stringify(meta));
  fs.renameSync(metaPath + suffix, metaPath);
  return { idsPath, width, tokens, bytes, reused: false };
}
