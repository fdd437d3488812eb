import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import {
  BpbAccumulator,
  ExpertUsage,
  MetricsLogger,
  Progress,
  RoutingStats,
  bitsPerByte,
  cachedPeak,
  cpuModel,
  humanDuration,
  humanNumber,
  lossPlotSvg,
  lossSeriesFromMetrics,
  measureMatmulPeak,
  mfu,
  readMetrics,
} from "../../runtime/metrics/index.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-infra-metrics-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const record = (path: string, numExperts: number, ids: number[], weights: number[]) => ({
  path,
  numExperts,
  ids: Int32Array.from(ids),
  weights: Float32Array.from(weights),
});

describe("expert usage and unevenness (Table 2)", () => {
  it("uniform scores give unevenness 0 and full usage", () => {
    const u = new ExpertUsage("blocks.6.peer", 64);
    const ids = Array.from({ length: 64 }, (_, i) => i);
    u.add(record("blocks.6.peer", 64, ids, ids.map(() => 0.25)));
    u.add(record("blocks.6.peer", 64, ids, ids.map(() => 0.5)));
    expect(u.usage()).toBe(1);
    expect(u.unevenness()).toBeCloseTo(0, 12);
  });

  it("one-hot scores give log N and usage 1/N", () => {
    const u = new ExpertUsage("p", 1024);
    u.add(record("p", 1024, [17, 17, 17], [0.3, 0.2, 0.9]));
    expect(u.unevenness()).toBeCloseTo(Math.log(1024), 12);
    expect(u.usage()).toBe(1 / 1024);
  });

  it("matches KL(z‖uniform) computed directly, and counts only experts with non-zero z", () => {
    const n = 8;
    const u = new ExpertUsage("p", n);
    u.add(record("p", n, [0, 1, 1, 2, 5], [1, 1, 1, 2, 0]));
    const z = [1, 2, 2, 0, 0, 0, 0, 0].map((x) => x / 5);
    const kl = z.reduce((s, p) => (p > 0 ? s + p * Math.log(p / (1 / n)) : s), 0);
    expect(u.unevenness()).toBeCloseTo(kl, 12);
    expect(u.usage()).toBe(3 / 8); // expert 5 was selected with weight 0: z_5 = 0
  });

  it("keeps layers apart when used as ForwardContext.recordRouting", () => {
    const stats = new RoutingStats();
    stats.recorder(record("a", 4, [0, 1, 2, 3], [1, 1, 1, 1]));
    stats.recorder(record("b", 4, [0], [1]));
    const [a, b] = stats.summaries();
    expect(a).toEqual({ path: "a", numExperts: 4, usage: 1, unevenness: expect.closeTo(0, 12) });
    expect(b.usage).toBe(0.25);
    expect(b.unevenness).toBeCloseTo(Math.log(4), 12);
    expect(() => stats.recorder(record("b", 4, [4], [1]))).toThrow(/outside \[0, 4\)/);
  });
});

describe("bits per byte", () => {
  it("equals nats/ln 2 for byte-level tokens and scales by tokens/bytes for BPE", () => {
    expect(bitsPerByte(Math.LN2, 100, 100)).toBeCloseTo(1, 12);
    expect(bitsPerByte(2, 100, 400)).toBeCloseTo(bitsPerByte(2, 100, 100) / 4, 12);
    const acc = new BpbAccumulator();
    acc.add(3 * 50, 50, 120);
    acc.add(1 * 50, 50, 80);
    expect(acc.meanLoss()).toBe(2);
    expect(acc.bitsPerByte()).toBeCloseTo((2 * 100) / (Math.LN2 * 200), 12);
  });
});

describe("JSONL metrics", () => {
  it("appends one parseable object per line, NaN as null, time filled in", () => {
    const file = path.join(tmp, "run", "metrics.jsonl");
    const log = new MetricsLogger(file);
    log.log({ step: 1, tokens: 4096, loss: 5.5, lr: 1e-4, grad_norm: 0.7, tokens_per_s: 1234, mfu: 0.01 });
    log.log({ step: 2, loss: NaN, val_loss: 5.1, val_bpb: 7.3, time: 12.5 });
    log.close();
    const again = new MetricsLogger(file);
    again.log({ step: 3, loss: 4.2 });
    again.close();
    const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const rows = readMetrics(file);
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(rows[0]).toMatchObject({ tokens: 4096, loss: 5.5, grad_norm: 0.7 });
    expect(typeof rows[0].time).toBe("number");
    expect(rows[1].loss).toBeNull();
    expect(rows[1].time).toBe(12.5);
  });
});

describe("MFU", () => {
  it("is 3 × forward FLOPs × tokens/s over the peak", () => {
    expect(mfu(1e6, 1000, 3e10)).toBeCloseTo(0.1, 12);
    expect(Number.isNaN(mfu(1e6, 1000, 0))).toBe(true);
  });

  it("measures a matmul peak on the active backend without leaking tensors", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const peak = measureMatmulPeak(tf, { size: 64, trials: 2 });
    expect(Number.isFinite(peak) && peak > 0).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("caches the peak per backend and CPU model, re-measuring on a miss", () => {
    const cacheDir = path.join(tmp, "peak-cache");
    let calls = 0;
    const measure = () => ++calls * 1e9;
    const fake = (backend: string) => ({ ...tf, getBackend: () => backend });
    expect(cachedPeak(fake("wasm"), { cacheDir, measure })).toBe(1e9);
    expect(cachedPeak(fake("wasm"), { cacheDir, measure })).toBe(1e9);
    expect(calls).toBe(1);
    const saved = JSON.parse(fs.readFileSync(path.join(cacheDir, "peak-wasm.json"), "utf8"));
    expect(saved).toMatchObject({ backend: "wasm", cpu: cpuModel(), flops: 1e9 });
    expect(cachedPeak(fake("cpu"), { cacheDir, measure })).toBe(2e9);
    fs.writeFileSync(path.join(cacheDir, "peak-wasm.json"), JSON.stringify({ ...saved, cpu: "another CPU" }));
    expect(cachedPeak(fake("wasm"), { cacheDir, measure })).toBe(3e9);
    fs.writeFileSync(path.join(cacheDir, "peak-wasm.json"), "garbage");
    expect(cachedPeak(fake("wasm"), { cacheDir, measure })).toBe(4e9);
  });

  it("with refresh, measures again and keeps the higher peak (a busy machine only slows the probe)", () => {
    const cacheDir = path.join(tmp, "peak-refresh");
    const fake = { getBackend: () => "wasm" } as unknown as Parameters<typeof cachedPeak>[0];
    let next = 5e9;
    const measure = () => next;
    expect(cachedPeak(fake, { cacheDir, measure })).toBe(5e9);
    next = 3e9; // measured while other jobs ran
    expect(cachedPeak(fake, { cacheDir, measure, refresh: true })).toBe(5e9);
    next = 8e9; // a quiet moment
    expect(cachedPeak(fake, { cacheDir, measure, refresh: true })).toBe(8e9);
    next = 1e9;
    expect(cachedPeak(fake, { cacheDir, measure })).toBe(8e9);
  });
});

class Capture extends Writable {
  text = "";
  constructor(readonly isTTY: boolean) {
    super();
  }
  columns = 120;
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("progress", () => {
  it("prints plain lines every logEvery steps and at the end when not on a terminal", () => {
    const out = new Capture(false);
    const p = new Progress({ total: 25, logEvery: 10, stream: out });
    for (let step = 1; step <= 25; step++) p.update({ step, loss: 10 / step, tokensPerSecond: 1500 * step, mfu: 0.0123 });
    p.log("eval: val_loss 1.2345");
    p.stop();
    const lines = out.text.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^step 10\/25 \| loss 1\.0000 \| 15k tok\/s \| MFU 1\.2% \| ETA \S+$/);
    expect(lines[1]).toMatch(/^step 20\/25 \| loss 0\.5000 \| 30k tok\/s/);
    expect(lines[2]).toMatch(/^step 25\/25 .* ETA 0s$/);
    expect(lines[3]).toBe("eval: val_loss 1.2345");
  });

  it("draws a bar with loss, tokens/s and MFU on a terminal", () => {
    const out = new Capture(true);
    const p = new Progress({ total: 100, stream: out });
    p.update({ step: 40, loss: 2.5, tokensPerSecond: 2.5e6, mfu: 0.5 });
    p.stop();
    expect(out.text).toContain("40/100");
    expect(out.text).toContain("loss 2.5000");
    expect(out.text).toContain("2.5M tok/s");
    expect(out.text).toContain("MFU 50.0%");
    expect(out.text).toMatch(/ETA \d+s/);
  });
});

describe("progress bar redraws", () => {
  it("draws every update at once (no timer) and prints a log line above the redrawn bar", () => {
    const out = new Capture(true);
    const p = new Progress({ total: 4, stream: out });
    p.update({ step: 1, loss: 4, tokensPerSecond: 100 });
    // Drawn synchronously: the frame is there before anything else runs.
    expect(out.text).toContain("\r\x1b[2K██████░░░░░░░░░░░░░░░░░░ 1/4 | loss 4.0000 | 100 tok/s");
    p.update({ step: 2, loss: 3, tokensPerSecond: 100 });
    p.log("step 2: val loss 3.1");
    p.update({ step: 4, loss: 2, tokensPerSecond: 100 });
    p.stop();
    // Replayed as a terminal would: erase-line resets the line, newline ends it.
    const screen = out.text.split("\n").map((line) => line.split("\r\x1b[2K").pop());
    expect(screen[0]).toBe("step 2: val loss 3.1");
    expect(screen[1]).toMatch(/^█{24} 4\/4 \| loss 2\.0000 /);
    expect(screen.slice(2)).toEqual([""]);
  });

  it("cuts the bar to the terminal's width so it can be redrawn in place", () => {
    const out = new Capture(true);
    out.columns = 30;
    const p = new Progress({ total: 4, stream: out });
    p.update({ step: 1, loss: 4, tokensPerSecond: 100 });
    p.stop();
    for (const frame of out.text.split(/\r\x1b\[2K|\n/)) expect(frame.length).toBeLessThan(30);
  });
});

describe("human numbers", () => {
  it("shortens with k/M/G and trims zeros", () => {
    expect([0, 0.5, 12, 999, 1000, 1500, 20_000, 2.5e6, 3e9].map(humanNumber)).toEqual(["0", "0.5", "12", "999", "1k", "1.5k", "20k", "2.5M", "3G"]);
    expect([5, 200, 7500].map(humanDuration)).toEqual(["5s", "3m20s", "2h05m"]);
  });
});

/** Minimal well-formedness: every tag closes in order, attributes quoted. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of svg.matchAll(tag)) {
    expect(svg.slice(last, m.index)).not.toMatch(/[<>]/); // text between tags holds no stray brackets
    last = m.index! + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name);
  }
  expect(svg.slice(last).trim()).toBe("");
  expect(stack).toEqual([]);
}

describe("loss plot", () => {
  const train = Array.from({ length: 101 }, (_, step) => ({ step, loss: 5 - (4 * step) / 100 }));
  const val = [0, 50, 100].map((step) => ({ step, loss: step === 50 ? 3 : 5 - (4 * step) / 100 }));

  it("is well-formed, titled, with two polylines and a legend; deterministic", () => {
    const svg = lossPlotSvg({ train, val }, { title: "tiny <peer> & co" });
    checkWellFormed(svg);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("tiny &lt;peer&gt; &amp; co");
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain("train loss");
    expect(svg).toContain("validation loss");
    expect(lossPlotSvg({ train, val }, { title: "tiny <peer> & co" })).toBe(svg);
  });

  it("takes its series from metrics records", () => {
    const series = lossSeriesFromMetrics([
      { step: 1, loss: 5 },
      { step: 2, loss: null },
      { step: 2, val_loss: 4.5 },
      { step: 3, loss: 4, val_loss: 4.2 },
    ]);
    expect(series).toEqual({ train: [{ step: 1, loss: 5 }, { step: 3, loss: 4 }], val: [{ step: 2, loss: 4.5 }, { step: 3, loss: 4.2 }] });
  });

  it("maps steps and losses linearly onto the plot area", () => {
    const svg = lossPlotSvg({ train, val: [...val, { step: 60, loss: NaN }] }, { width: 500, height: 300 });
    const area = /<rect class="plot-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
    const [x0, y0, w, h] = area.slice(1).map(Number);
    const points = (cls: string) =>
      /<polyline class="PLACE"[^>]* points="([^"]+)"/.source.replace("PLACE", cls);
    const parse = (cls: string) => new RegExp(points(cls)).exec(svg)![1].split(" ").map((p) => p.split(",").map(Number));
    const valPts = parse("val");
    expect(valPts).toHaveLength(3); // the NaN point is left out
    // Steps 0..100 and losses 1..5 already lie on nice ticks, so the domain is exactly that.
    const near = (pt: number[], x: number, y: number) => {
      expect(pt[0]).toBeCloseTo(x, 1);
      expect(pt[1]).toBeCloseTo(y, 1);
    };
    near(valPts[0], x0, y0); // step 0, loss 5 (the maximum): top left
    near(valPts[1], x0 + w / 2, y0 + h / 2); // step 50, loss 3: centre
    near(valPts[2], x0 + w, y0 + h); // step 100, loss 1: bottom right
    const trainPts = parse("train");
    expect(trainPts).toHaveLength(101);
    near(trainPts[25], x0 + w / 4, y0 + h / 4); // step 25, loss 4
    expect(svg).toMatch(/>100<\/text>/);
    expect(svg).toMatch(/>5<\/text>/);
  });
});
