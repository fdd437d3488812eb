/**
 * Robustness and speed of the front end (`npx tsx bench/fuzz-check.ts [count]`):
 * 1. runs `count` (default 10,000) mutated versions of the shipped specs
 *    through the full checker and fails on any exception, any single check over
 *    2 s (a hang), or any diagnostic span outside its file;
 * 2. prints the in-process check time of the largest spec after warm-up.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkSource, type FileHost } from "../compiler/check/index.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Span } from "../diagnostics/source.js";
import { mutateSpec } from "../test/grammar/mutate.js";

const repo = path.resolve(import.meta.dirname, "..");
const specDir = path.join(repo, "specs");
const specs = new Map(
  fs
    .readdirSync(specDir)
    .filter((f) => f.endsWith(".peer"))
    .map((f) => [`specs/${f}`, fs.readFileSync(path.join(specDir, f), "utf8")] as const),
);

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

const count = Number(process.argv[2] ?? 10_000);
const rng = splitmix32(20261124);
const names = [...specs.keys()];
let failures = 0;
let withErrors = 0;
let slowest = 0;
let slowestCase = "";

function inBounds(span: Span | undefined, texts: Map<string, string>): boolean {
  if (!span) return true;
  const text = texts.get(span.file);
  if (text === undefined) return false;
  return span.offset >= 0 && span.length >= 0 && span.offset + span.length <= text.length && span.line >= 1 && span.column >= 1;
}

const started = performance.now();
for (let i = 0; i < count; i++) {
  const name = names[Math.floor(rng() * names.length)]!;
  let text = specs.get(name)!;
  const rounds = 1 + Math.floor(rng() * 4);
  for (let r = 0; r < rounds; r++) text = mutateSpec(text, rng);
  const texts = new Map(specs);
  texts.set(name, text);
  const host: FileHost = { readFile: (p) => texts.get(p.split(path.sep).join("/")) };
  const t0 = performance.now();
  let diagnostics: readonly Diagnostic[];
  try {
    diagnostics = checkSource(name, text, host).diagnostics;
  } catch (error) {
    failures++;
    console.error(`case ${i} (${name}): threw ${(error as Error).stack ?? error}`);
    continue;
  }
  const ms = performance.now() - t0;
  if (ms > slowest) {
    slowest = ms;
    slowestCase = `case ${i} (${name})`;
  }
  if (ms > 2000) {
    failures++;
    console.error(`case ${i} (${name}): took ${ms.toFixed(0)} ms`);
  }
  if (diagnostics.some((d) => d.severity === "error")) withErrors++;
  for (const d of diagnostics) {
    const spans = [d.span, ...d.labels.map((l) => l.span)];
    if (!spans.every((s) => inBounds(s, texts))) {
      failures++;
      console.error(`case ${i} (${name}): ${d.code} has a span out of bounds: ${JSON.stringify(spans)}`);
    }
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `fuzz: ${count} mutated specs checked in ${seconds.toFixed(1)} s: ${failures} failures, ` +
    `${withErrors} with errors, slowest ${slowest.toFixed(1)} ms (${slowestCase})`,
);

// Check time of the largest spec, in-process, after warm-up.
const largest = [...specs.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
const host: FileHost = { readFile: (p) => specs.get(p.split(path.sep).join("/")) };
for (let i = 0; i < 20; i++) checkSource(largest[0], largest[1], host);
const times: number[] = [];
for (let i = 0; i < 100; i++) {
  const t0 = performance.now();
  checkSource(largest[0], largest[1], host);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `check ${largest[0]} (${largest[1].split("\n").length} lines + imports): median ${times[50]!.toFixed(2)} ms, ` +
    `min ${times[0]!.toFixed(2)} ms over 100 runs after warm-up (target: under 50 ms)`,
);
process.exit(failures === 0 ? 0 : 1);
