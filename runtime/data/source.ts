/**
 * Random access to a token stream without loading it: in memory (built-in
 * corpus), the raw bytes of a file (byte-level: token = byte, read by offset),
 * or a cached id file of little-endian Uint16/Uint32 (BPE), read with
 * positional reads so files larger than memory work.
 */
import * as fs from "node:fs";

export interface TokenSource {
  /** Number of tokens. */
  readonly length: number;
  /** Copy tokens [start, start + out.length) into `out`. */
  read(start: number, out: Int32Array): void;
  close(): void;
}

function checkRange(source: TokenSource, start: number, count: number): void {
  if (!(start >= 0 && start + count <= source.length)) {
    throw new RangeError(`token range [${start}, ${start + count}) is outside [0, ${source.length})`);
  }
}

export class MemoryTokenSource implements TokenSource {
  constructor(private readonly ids: Uint8Array | Uint16Array | Uint32Array | Int32Array) {}
  get length(): number {
    return this.ids.length;
  }
  read(start: number, out: Int32Array): void {
    checkRange(this, start, out.length);
    for (let i = 0; i < out.length; i++) out[i] = this.ids[start + i];
  }
  close(): void {}
}

/** Reads `width`-byte little-endian unsigned ids from `path`, starting at byte `offset`. */
export class FileTokenSource implements TokenSource {
  private fd: number | null;
  private scratch = Buffer.alloc(0);
  readonly length: number;

  constructor(
    readonly path: string,
    private readonly width: 1 | 2 | 4,
    /** Number of ids in the file (after `offset`). */
    length: number,
    private readonly offset = 0,
  ) {
    this.fd = fs.openSync(path, "r");
    this.length = length;
  }

  read(start: number, out: Int32Array): void {
    checkRange(this, start, out.length);
    if (this.fd === null) throw new Error(`${this.path}: token source is closed`);
    const bytes = out.length * this.width;
    if (this.scratch.length < bytes) this.scratch = Buffer.alloc(bytes);
    let done = 0;
    while (done < bytes) {
      const n = fs.readSync(this.fd, this.scratch, done, bytes - done, this.offset + start * this.width + done);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file (was it changed during training?)`);
      done += n;
    }
    const s = this.scratch;
    if (this.width === 1) for (let i = 0; i < out.length; i++) out[i] = s[i];
    else if (this.width === 2) for (let i = 0; i < out.length; i++) out[i] = s.readUInt16LE(2 * i);
    else for (let i = 0; i < out.length; i++) out[i] = s.readUInt32LE(4 * i);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
