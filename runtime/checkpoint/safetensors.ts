/**
 * safetensors files, streamed: an 8-byte little-endian header length n, n
 * bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}` padded with spaces to a multiple of 8,
 * then the raw little-endian tensor bytes (offsets are relative to the end of
 * the header). The writer emits tensor by tensor with positional writes and the
 * reader reads one tensor at a time, so files may exceed Node's 4 GiB Buffer
 * limit. Every structural problem on read is a CheckpointError saying what.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { CheckpointError } from "./errors.js";

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

export type TensorData =
  | Float64Array | Float32Array | Int32Array | Int16Array | Int8Array
  | Uint32Array | Uint16Array | Uint8Array | BigInt64Array | BigUint64Array;

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: TensorData;
  /** Inferred from the array type when omitted; give it for F16/BF16 (Uint16Array) and BOOL (Uint8Array). */
  readonly dtype?: Dtype;
}

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data section. */
  readonly begin: number;
  readonly end: number;
}

/** Largest header we accept; real ones are kilobytes. */
const MAX_HEADER_BYTES = 100 << 20;
/** Per-call I/O size, below the ~2 GiB limit of a single fs read/write. */
const IO_SLICE = 1 << 30;

function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw new Error("safetensors I/O here assumes a little-endian host");
}

export function inferDtype(data: TensorData): Dtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Int8Array) return "I8";
  if (data instanceof Uint32Array) return "U32";
  if (data instanceof Uint16Array) return "U16";
  if (data instanceof Uint8Array) return "U8";
  if (data instanceof BigInt64Array) return "I64";
  return "U64";
}

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const fmt = (n: number): string => n.toLocaleString("en-US");

/** Write `tensors` (in the given order) to `file`; fsyncs before returning. */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> = {}): void {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name in header) throw new Error(`duplicate or reserved tensor name ${JSON.stringify(t.name)}`);
    const dtype = t.dtype ?? inferDtype(t.data);
    const bytes = elementCount(t.shape) * DTYPE_BYTES[dtype];
    if (bytes !== t.data.byteLength) {
      throw new Error(`tensor ${t.name}: shape [${t.shape.join(", ")}] of ${dtype} needs ${fmt(bytes)} bytes, data has ${fmt(t.data.byteLength)}`);
    }
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json);
  json += " ".repeat((8 - (jsonBytes % 8)) % 8);
  const headerBuf = Buffer.from(json);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBuf.length));

  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, prefix, 0, 8, 0);
    fs.writeSync(fd, headerBuf, 0, headerBuf.length, 8);
    let position = 8 + headerBuf.length;
    for (const t of tensors) {
      const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let done = 0; done < view.length; ) {
        const n = fs.writeSync(fd, view, done, Math.min(IO_SLICE, view.length - done), position + done);
        done += n;
      }
      position += view.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function parseHeader(file: string, text: string): { infos: TensorInfo[]; metadata: Record<string, string> } {
  const bad = (message: string): CheckpointError => new CheckpointError(file, message);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("header is not a JSON object");
  const metadata: Record<string, string> = {};
  const infos: TensorInfo[] = [];
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad(`"__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw bad(`"__metadata__" entry ${JSON.stringify(k)} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (entry === null || typeof entry !== "object") throw bad(`tensor ${JSON.stringify(name)}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) throw bad(`tensor ${JSON.stringify(name)}: unknown dtype ${JSON.stringify(dtype)}`);
    const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`tensor ${JSON.stringify(name)}: shape must be a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw bad(`tensor ${JSON.stringify(name)}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    const d = dtype as Dtype;
    const need = elementCount(shape) * DTYPE_BYTES[d];
    if (need !== offsets[1] - offsets[0]) {
      throw bad(`tensor ${JSON.stringify(name)}: shape [${shape.join(", ")}] of ${d} needs ${fmt(need)} bytes, data_offsets give ${fmt(offsets[1] - offsets[0])}`);
    }
    infos.push({ name, dtype: d, shape, begin: offsets[0], end: offsets[1] });
  }
  return { infos, metadata };
}

function checkLayout(file: string, infos: readonly TensorInfo[], dataBytes: number): void {
  const bad = (message: string): CheckpointError => new CheckpointError(file, message);
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const end = sorted.reduce((m, t) => Math.max(m, t.end), 0);
  if (end > dataBytes) throw bad(`truncated: header says ${fmt(end)} bytes of data, file has ${fmt(dataBytes)}`);
  let cursor = 0;
  let previous: TensorInfo | null = null;
  for (const t of sorted) {
    if (t.begin < cursor && previous !== null) {
      throw bad(`tensors ${JSON.stringify(previous.name)} [${fmt(previous.begin)}, ${fmt(previous.end)}) and ${JSON.stringify(t.name)} [${fmt(t.begin)}, ${fmt(t.end)}) overlap`);
    }
    if (t.begin > cursor) throw bad(`${fmt(t.begin - cursor)} bytes of data before tensor ${JSON.stringify(t.name)} belong to no tensor (offsets must be contiguous)`);
    cursor = t.end;
    previous = t;
  }
  if (cursor < dataBytes) throw bad(`${fmt(dataBytes - cursor)} trailing bytes after the last tensor`);
}

/** An open, validated safetensors file; tensors are read one at a time. */
export class SafetensorsFile {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.fd = fd;
  }

  /** Open and validate (header, offsets, sizes); throws CheckpointError. */
  static open(file: string): SafetensorsFile {
    assertLittleEndian();
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CheckpointError(file, code === "ENOENT" ? "file not found" : `cannot be read (${code ?? (e as Error).message})`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw new CheckpointError(file, `truncated: ${size} bytes, shorter than the 8-byte header length`);
      const prefix = Buffer.alloc(8);
      fs.readSync(fd, prefix, 0, 8, 0);
      const n = prefix.readBigUInt64LE();
      if (n > BigInt(size - 8)) throw new CheckpointError(file, `truncated: header length says ${fmt(Number(n))} bytes, file has ${fmt(size - 8)} after the 8-byte prefix`);
      if (n > BigInt(MAX_HEADER_BYTES)) throw new CheckpointError(file, `header length ${fmt(Number(n))} bytes is implausibly large`);
      const headerBuf = Buffer.alloc(Number(n));
      fs.readSync(fd, headerBuf, 0, headerBuf.length, 8);
      const { infos, metadata } = parseHeader(file, headerBuf.toString("utf8"));
      const dataStart = 8 + headerBuf.length;
      checkLayout(file, infos, size - dataStart);
      return new SafetensorsFile(file, fd, dataStart, new Map(infos.map((t) => [t.name, t])), metadata);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t === undefined) throw new CheckpointError(this.path, `has no tensor ${JSON.stringify(name)}`);
    return t;
  }

  /** A fresh array holding the tensor (F16/BF16 come back as raw Uint16Array bits, BOOL as Uint8Array). */
  read(name: string): TensorData {
    const t = this.info(name);
    const count = (t.end - t.begin) / DTYPE_BYTES[t.dtype];
    const out = allocate(t.dtype, count);
    this.readInto(name, out);
    return out;
  }

  /** Read the tensor into `out` (must have exactly its byte length), e.g. straight into a SparseTable's array. */
  readInto(name: string, out: TensorData): void {
    if (this.fd === null) throw new Error(`${this.path}: file is closed`);
    const t = this.info(name);
    if (out.byteLength !== t.end - t.begin) {
      throw new CheckpointError(this.path, `tensor ${JSON.stringify(name)} has ${fmt(t.end - t.begin)} bytes, destination has ${fmt(out.byteLength)}`);
    }
    const view = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let done = 0; done < view.length; ) {
      const n = fs.readSync(this.fd, view, done, Math.min(IO_SLICE, view.length - done), this.dataStart + t.begin + done);
      if (n === 0) throw new CheckpointError(this.path, `truncated while reading tensor ${JSON.stringify(name)}`);
      done += n;
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function allocate(dtype: Dtype, count: number): TensorData {
  switch (dtype) {
    case "F64": return new Float64Array(count);
    case "F32": return new Float32Array(count);
    case "I64": return new BigInt64Array(count);
    case "U64": return new BigUint64Array(count);
    case "I32": return new Int32Array(count);
    case "U32": return new Uint32Array(count);
    case "I16": return new Int16Array(count);
    case "U16": case "F16": case "BF16": return new Uint16Array(count);
    case "I8": return new Int8Array(count);
    case "U8": case "BOOL": return new Uint8Array(count);
  }
}
