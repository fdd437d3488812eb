import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointPayload,
} from "../../runtime/checkpoint/index.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-infra-ckpt-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let runs = 0;
const runDir = (): string => path.join(tmp, `run${runs++}`);
const HASH = "3f2a9c1b".repeat(8);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function payload(step: number, specHash = HASH): CheckpointPayload {
  return {
    weights: [
      { name: "embed.table", shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i + step) },
      { name: "blocks.0.ffw.peer.u", shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => -i * step) },
      { name: "blocks.0.norm.running_mean", shape: [3], data: Float32Array.of(step, 0, 1) },
    ],
    optimizer: [
      { name: "embed.table.m", shape: [4, 3], data: new Float32Array(12).fill(step / 10) },
      { name: "embed.table.v", shape: [4, 3], data: new Float32Array(12).fill(step / 100) },
    ],
    state: {
      specHash,
      model: "tiny",
      step,
      tokensSeen: step * 4096,
      data: { rng: [1, 2, 3, step], batchesDrawn: step },
      optimizerStep: step,
      schedule: { lr: 0.001, warmupSteps: 10 },
    },
  };
}

describe("checkpoints", () => {
  it("round-trips weights, optimizer moments and state through step-NNNNNN", () => {
    const dir = runDir();
    const saved = saveCheckpoint(dir, payload(500));
    expect(saved).toBe(path.join(dir, "step-000500"));
    expect(fs.readFileSync(path.join(dir, "latest"), "utf8").trim()).toBe("step-000500");
    const ck = loadCheckpoint(dir, HASH);
    expect(ck.path).toBe(saved);
    expect(ck.state).toMatchObject({ ...payload(500).state, format: 1 });
    expect(typeof ck.state.peercVersion).toBe("string");
    expect(Number.isNaN(Date.parse(ck.state.createdAt))).toBe(false);
    for (const t of payload(500).weights) expect(Array.from(ck.weights.read(t.name) as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    for (const t of payload(500).optimizer) expect(Array.from(ck.optimizer.read(t.name) as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    expect(ck.weights.metadata.specHash).toBe(HASH);
    ck.close();
    // A step folder can be opened directly too.
    const direct = loadCheckpoint(saved, HASH);
    expect(direct.state.step).toBe(500);
    direct.close();
  });

  it("keeps the newest K step folders and points latest at the newest", () => {
    const dir = runDir();
    for (const step of [100, 200, 300, 400, 500]) saveCheckpoint(dir, payload(step), { keep: 3 });
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([300, 400, 500]);
    expect(latestCheckpoint(dir)).toBe(path.join(dir, "step-000500"));
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("re-saving a step replaces it", () => {
    const dir = runDir();
    saveCheckpoint(dir, payload(7));
    const p = payload(7);
    saveCheckpoint(dir, { ...p, state: { ...p.state, tokensSeen: 1 } });
    const ck = loadCheckpoint(dir, HASH);
    expect(ck.state.tokensSeen).toBe(1);
    ck.close();
  });

  it("a failure before the commit leaves the previous checkpoint and pointer intact", () => {
    const dir = runDir();
    saveCheckpoint(dir, payload(1));
    expect(() =>
      saveCheckpoint(dir, payload(2), {
        beforeCommit: () => {
          throw new Error("disk full");
        },
      }),
    ).toThrow("disk full");
    expect(latestCheckpoint(dir)).toBe(path.join(dir, "step-000001"));
    expect(fs.existsSync(path.join(dir, "step-000002"))).toBe(false);
    const ck = loadCheckpoint(dir, HASH);
    expect(ck.state.step).toBe(1);
    ck.close();
  });

  it("a process killed between temp write and rename leaves the previous latest intact", () => {
    const dir = runDir();
    saveCheckpoint(dir, payload(10));
    const script = path.join(tmp, "crash.ts");
    const module = path.join(repoRoot, "runtime/checkpoint/index.ts");
    fs.writeFileSync(
      script,
      `import { saveCheckpoint } from ${JSON.stringify(module)};\n` +
        `const p = ${JSON.stringify({ ...payload(20), weights: [], optimizer: [] })};\n` +
        `saveCheckpoint(${JSON.stringify(dir)}, p, { beforeCommit: () => process.kill(process.pid, "SIGKILL") });\n`,
    );
    const child = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: repoRoot, encoding: "utf8" });
    expect(child.signal).toBe("SIGKILL");
    const leftovers = fs.readdirSync(dir).filter((n) => n.startsWith(".tmp-step-000020"));
    expect(leftovers).toHaveLength(1); // the killed save got as far as its temp folder
    expect(fs.existsSync(path.join(dir, leftovers[0], "state.json"))).toBe(true);
    expect(latestCheckpoint(dir)).toBe(path.join(dir, "step-000010"));
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([10]);
    const ck = loadCheckpoint(dir, HASH);
    expect(ck.state.step).toBe(10);
    ck.close();
    saveCheckpoint(dir, payload(30)); // the next save clears the leftover
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("falls back to the newest complete step folder when latest is missing", () => {
    const dir = runDir();
    saveCheckpoint(dir, payload(3));
    saveCheckpoint(dir, payload(4));
    fs.rmSync(path.join(dir, "latest"));
    expect(latestCheckpoint(dir)).toBe(path.join(dir, "step-000004"));
    expect(latestCheckpoint(path.join(tmp, "no-such-run"))).toBeNull();
  });

  it("refuses a checkpoint written for another spec, naming both hashes", () => {
    const dir = runDir();
    saveCheckpoint(dir, payload(500));
    const other = "9c1b77aa".repeat(8);
    let error: unknown;
    try {
      loadCheckpoint(dir, other);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toBe(
      `checkpoint ${path.join(dir, "step-000500")} was written for spec hash 3f2a9c1b3f2a…, this spec is 9c1b77aa9c1b…`,
    );
  });

  it("reports corrupt or missing parts as CheckpointError", () => {
    const dir = runDir();
    const stepDir = saveCheckpoint(dir, payload(5));
    const weights = path.join(stepDir, "weights.safetensors");
    fs.truncateSync(weights, fs.statSync(weights).size - 10);
    expect(() => loadCheckpoint(dir, HASH)).toThrow(/truncated: header says 84 bytes of data, file has 74/);
    fs.writeFileSync(path.join(stepDir, "state.json"), "{ not json");
    expect(() => loadCheckpoint(stepDir, HASH)).toThrow(CheckpointError);
    fs.writeFileSync(path.join(stepDir, "state.json"), JSON.stringify({ format: 1, specHash: HASH }));
    expect(() => loadCheckpoint(stepDir, HASH)).toThrow("incomplete state: missing model, step, tokensSeen, data, optimizerStep");
    const empty = runDir();
    fs.mkdirSync(empty);
    expect(() => loadCheckpoint(empty, HASH)).toThrow("no checkpoint found (no complete step-NNNNNN folder)");
    expect(() => loadCheckpoint(path.join(tmp, "missing"), HASH)).toThrow("checkpoint folder not found");
  });
});
