/** Checks on a data file before use; each failure is a DataError naming the file. */
import * as fs from "node:fs";
import { DataError } from "./errors.js";
import { invalidUtf8Fraction } from "./pretokenize.js";

const MIB = 1 << 20;
/** Above this fraction of invalid UTF-8 bytes a file is treated as binary for BPE. */
export const MAX_INVALID_UTF8 = 0.01;

/** Size of a readable regular file, or a DataError saying why it is not one. */
export function checkDataFile(file: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new DataError(file, "data file not found");
    if (code === "EACCES") throw new DataError(file, "data file cannot be read (permission denied)");
    throw new DataError(file, `data file cannot be read (${code ?? (e as Error).message})`);
  }
  if (st.isDirectory()) throw new DataError(file, "is a directory; expected a data file");
  if (!st.isFile()) throw new DataError(file, "is not a regular file");
  if (st.size === 0) throw new DataError(file, "data file is empty");
  try {
    fs.closeSync(fs.openSync(file, "r"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, `data file cannot be read (${code === "EACCES" ? "permission denied" : code ?? "error"})`);
  }
  return st.size;
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, got);
}

/** Text check for BPE on the first and last MiB: no NUL bytes, at most 1% invalid UTF-8. */
export function checkTextFile(file: string, size: number): void {
  const fd = fs.openSync(file, "r");
  try {
    const samples: [number, Uint8Array][] = [[0, readAt(fd, 0, Math.min(MIB, size))]];
    if (size > MIB) samples.push([Math.max(MIB, size - MIB), readAt(fd, Math.max(MIB, size - MIB), Math.min(MIB, size - MIB))]);
    for (const [offset, sample] of samples) {
      const nul = sample.indexOf(0);
      if (nul >= 0) {
        throw new DataError(file, `looks binary (NUL byte at offset ${(offset + nul).toLocaleString("en-US")}); the BPE tokenizer needs text — use \`tokenizer bytes\` for binary data`);
      }
      const bad = invalidUtf8Fraction(sample);
      if (bad > MAX_INVALID_UTF8) {
        throw new DataError(file, `looks binary: ${(bad * 100).toFixed(1)}% of the bytes near offset ${offset.toLocaleString("en-US")} are not valid UTF-8; the BPE tokenizer needs text — use \`tokenizer bytes\` for binary data`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Refuse a file whose bytes are all NUL (a sparse or zeroed file, not data). */
export function checkNotAllNul(file: string, size: number): void {
  const fd = fs.openSync(file, "r");
  try {
    for (let pos = 0; pos < size; pos += MIB) {
      const chunk = readAt(fd, pos, Math.min(MIB, size - pos));
      if (chunk.some((b) => b !== 0)) return;
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new DataError(file, `all ${size.toLocaleString("en-US")} bytes are NUL; this is not training data`);
}
