import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError, SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../runtime/checkpoint/index.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-infra-st-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => path.join(tmp, `t${counter++}.safetensors`);

/** Independent header parse: only Buffer and JSON, none of the module's code. */
function parseIndependently(file: string): { header: Record<string, any>; dataStart: number; bytes: Buffer } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")), dataStart: 8 + n, bytes };
}

/** A hand-made file: header object + data section. */
function craft(header: unknown, data: Uint8Array, lengthOverride?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const p = fresh();
  fs.writeFileSync(p, Buffer.concat([prefix, json, data]));
  return p;
}

function checkpointError(f: () => unknown): CheckpointError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error("expected a CheckpointError");
}

describe("safetensors round trip", () => {
  it("writes and reads several dtypes and shapes, metadata included", () => {
    const tensors: TensorToWrite[] = [
      { name: "w", shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2) },
      { name: "d", shape: [2], data: Float64Array.of(Math.PI, -1e300) },
      { name: "ids", shape: [2, 2, 2], data: Int32Array.of(-1, 2, -3, 4, 5, -6, 7, 2 ** 31 - 1) },
      { name: "mask", shape: [5], data: Uint8Array.of(1, 0, 1, 1, 0), dtype: "BOOL" },
      { name: "half", shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff), dtype: "F16" },
      { name: "big", shape: [2], data: BigInt64Array.of(-(2n ** 62n), 12345678901234n) },
      { name: "scalar", shape: [], data: Float32Array.of(7) },
      { name: "empty", shape: [0, 3], data: new Float32Array(0) },
    ];
    const p = fresh();
    writeSafetensors(p, tensors, { format: "peerc", note: "hello" });
    const f = SafetensorsFile.open(p);
    expect(f.metadata).toEqual({ format: "peerc", note: "hello" });
    expect(f.names().sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const info = f.info(t.name);
      expect(info.shape).toEqual(t.shape);
      expect(info.dtype).toBe(t.dtype ?? { w: "F32", d: "F64", ids: "I32", big: "I64", scalar: "F32", empty: "F32" }[t.name]);
      const back = f.read(t.name);
      expect(back.constructor).toBe(t.data.constructor);
      expect(Array.from(back as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    const into = new Float32Array(12);
    f.readInto("w", into);
    expect(Array.from(into)).toEqual(Array.from(tensors[0].data as Float32Array));
    expect(() => f.readInto("w", new Float32Array(11))).toThrow(CheckpointError);
    f.close();
  });

  it("streams many tensors; an independent parse finds a padded header, contiguous offsets and the right bytes", () => {
    const tensors: TensorToWrite[] = [];
    let seed = 1;
    for (let i = 0; i < 1500; i++) {
      const shape = [1 + (i % 7), 1 + ((i * 13) % 5)];
      seed = (seed * 1103515245 + 12345) >>> 0;
      const data = Float32Array.from({ length: shape[0] * shape[1] }, (_, j) => ((seed + j) % 1000) / 7);
      tensors.push(i % 3 === 0 ? { name: `layer.${i}.ids`, shape, data: Int32Array.from(data, Math.floor) } : { name: `layer.${i}.w`, shape, data });
    }
    const p = fresh();
    writeSafetensors(p, tensors);
    const { header, dataStart, bytes } = parseIndependently(p);
    expect(dataStart % 8).toBe(0);
    expect(header.__metadata__).toBeUndefined();
    let cursor = 0;
    for (const t of tensors) {
      const h = header[t.name];
      expect(h.shape).toEqual(t.shape);
      expect(h.data_offsets[0]).toBe(cursor);
      cursor = h.data_offsets[1];
      const raw = bytes.subarray(dataStart + h.data_offsets[0], dataStart + h.data_offsets[1]);
      expect(Buffer.compare(raw, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(0);
    }
    expect(dataStart + cursor).toBe(bytes.length);
    const f = SafetensorsFile.open(p);
    expect(Array.from(f.read("layer.1499.w") as Float32Array)).toEqual(Array.from(tensors[1499].data as Float32Array));
    f.close();
  });

  it("refuses to write data whose size does not match the shape", () => {
    expect(() => writeSafetensors(fresh(), [{ name: "x", shape: [2, 3], data: new Float32Array(5) }])).toThrow(/needs 24 bytes, data has 20/);
  });
});

describe("safetensors validation", () => {
  const good = fresh();
  writeSafetensors(good, [
    { name: "a", shape: [1000], data: new Float32Array(1000).fill(1) },
    { name: "b", shape: [24], data: new Int32Array(24) },
  ]);
  const goodBytes = fs.readFileSync(good);
  const headerLength = Number(goodBytes.readBigUInt64LE(0));
  const dataBytes = goodBytes.length - 8 - headerLength;

  it("truncation at several points, each with what is missing", () => {
    const at = (n: number): string => {
      const p = fresh();
      fs.writeFileSync(p, goodBytes.subarray(0, n));
      return p;
    };
    expect(checkpointError(() => SafetensorsFile.open(at(0))).message).toBe("truncated: 0 bytes, shorter than the 8-byte header length");
    expect(checkpointError(() => SafetensorsFile.open(at(5))).message).toMatch(/^truncated: 5 bytes/);
    expect(checkpointError(() => SafetensorsFile.open(at(20))).message).toBe(`truncated: header length says ${headerLength} bytes, file has 12 after the 8-byte prefix`);
    const mid = 8 + headerLength + 1234;
    const e = checkpointError(() => SafetensorsFile.open(at(mid)));
    expect(e.message).toBe(`truncated: header says ${dataBytes.toLocaleString("en-US")} bytes of data, file has 1,234`);
    expect(e.path).toMatch(/\.safetensors$/);
    expect(checkpointError(() => SafetensorsFile.open(at(goodBytes.length - 1))).message).toMatch(/^truncated: header says 4,096 bytes of data, file has 4,095/);
  });

  it("flipped header bytes and bad JSON", () => {
    const flipped = Buffer.from(goodBytes);
    flipped[8] = "x".charCodeAt(0); // the opening brace
    const p = fresh();
    fs.writeFileSync(p, flipped);
    expect(checkpointError(() => SafetensorsFile.open(p)).message).toMatch(/^header is not valid JSON/);
    expect(checkpointError(() => SafetensorsFile.open(craft([1, 2], new Uint8Array(0)))).message).toBe("header is not a JSON object");
    const hugeLength = craft({}, new Uint8Array(16), 2n ** 60n);
    expect(checkpointError(() => SafetensorsFile.open(hugeLength)).message).toMatch(/^truncated: header length says/);
  });

  it("overlapping, gapped and trailing data", () => {
    const overlap = craft(
      { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [4], data_offsets: [8, 24] } },
      new Uint8Array(24),
    );
    expect(checkpointError(() => SafetensorsFile.open(overlap)).message).toBe('tensors "a" [0, 16) and "b" [8, 24) overlap');
    const gap = craft({ a: { dtype: "U8", shape: [4], data_offsets: [4, 8] } }, new Uint8Array(8));
    expect(checkpointError(() => SafetensorsFile.open(gap)).message).toMatch(/4 bytes of data before tensor "a" belong to no tensor/);
    const trailing = craft({ a: { dtype: "U8", shape: [4], data_offsets: [0, 4] } }, new Uint8Array(10));
    expect(checkpointError(() => SafetensorsFile.open(trailing)).message).toBe("6 trailing bytes after the last tensor");
  });

  it("dtype, shape and offsets that do not agree", () => {
    const mismatch = craft({ a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(20));
    expect(checkpointError(() => SafetensorsFile.open(mismatch)).message).toBe('tensor "a": shape [2, 3] of F32 needs 24 bytes, data_offsets give 20');
    const dtype = craft({ a: { dtype: "Q4", shape: [2], data_offsets: [0, 1] } }, new Uint8Array(1));
    expect(checkpointError(() => SafetensorsFile.open(dtype)).message).toBe('tensor "a": unknown dtype "Q4"');
    const shape = craft({ a: { dtype: "U8", shape: [-1], data_offsets: [0, 1] } }, new Uint8Array(1));
    expect(checkpointError(() => SafetensorsFile.open(shape)).message).toMatch(/shape must be a list of non-negative integers/);
    const offsets = craft({ a: { dtype: "U8", shape: [1], data_offsets: [1, 0] } }, new Uint8Array(1));
    expect(checkpointError(() => SafetensorsFile.open(offsets)).message).toMatch(/data_offsets must be \[begin, end\]/);
    const meta = craft({ __metadata__: { step: 5 } }, new Uint8Array(0));
    expect(checkpointError(() => SafetensorsFile.open(meta)).message).toMatch(/"__metadata__" entry "step" is not a string/);
  });

  it("a missing file and an unknown tensor name", () => {
    expect(checkpointError(() => SafetensorsFile.open(path.join(tmp, "none.safetensors"))).message).toBe("file not found");
    const f = SafetensorsFile.open(good);
    expect(checkpointError(() => f.read("zzz")).message).toBe('has no tensor "zzz"');
    f.close();
  });
});
