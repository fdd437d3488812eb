/**
 * The pool's wait for a worker (runtime/experts/kernel-pool.ts awaitWorker):
 * a wake-up that is not an answer must not read as a failure. In a sweep two
 * trainers crashed with "worker 1 failed": a worker's notify for the previous
 * call woke the caller of the next one while the word still said "busy".
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { awaitWorker } from "../../runtime/experts/kernel-pool.js";

// Notifies once without an answer (the late notify), then answers `word`.
const LATE_NOTIFY = `
const { workerData } = require("node:worker_threads");
const { words, word } = workerData;
const nap = new Int32Array(new SharedArrayBuffer(4));
Atomics.wait(nap, 0, 0, 30);
Atomics.notify(words, 0);
Atomics.wait(nap, 0, 0, 60);
Atomics.store(words, 0, word);
Atomics.notify(words, 0);
`;

function withWorker(word: number, limitMs: number): { status: number | "timed-out"; waitedMs: number } {
  const words = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(LATE_NOTIFY, { eval: true, workerData: { words, word } });
  const start = performance.now();
  const status = awaitWorker(words, 0, limitMs);
  const waitedMs = performance.now() - start;
  void worker.terminate();
  return { status, waitedMs };
}

describe("awaitWorker", () => {
  it("keeps waiting through a notify that left the word busy, and returns the answer", () => {
    const { status, waitedMs } = withWorker(1, 10_000);
    expect(status).toBe(1);
    // The answer comes ~90 ms after the start (worker start-up adds more); the early notify came at ~30 ms.
    expect(waitedMs).toBeGreaterThan(60);
  });

  it("returns a failure word as it is", () => {
    expect(withWorker(2, 10_000).status).toBe(2);
  });

  it("times out when no answer comes in time", () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    expect(awaitWorker(words, 0, 50)).toBe("timed-out");
  });

  it("returns at once when the word already holds an answer", () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(words, 0, 1);
    expect(awaitWorker(words, 0, 10_000)).toBe(1);
  });
});
