/**
 * `npx tsx bench/report.ts`: the cost of reporting a 1M-expert PEER model
 * (specs/peer-1m.peer) against the least a tracing counter must do — allocate
 * that model's weights (tf.zeros of every parameter, tfjs cpu backend, in a
 * child process so its memory is its own). Prints one table with ratios.
 *
 * Then, for every spec in specs/, the whole process: the wall time of
 * `node bin/peerc.js report SPEC` (the built dist/) over that of `node -e 0`,
 * both measured here, in the same run (median of 7 each, interleaved; the
 * target is within 5×). `--whole-only` prints only that table.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { checkFiles } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import { renderReport } from "../compiler/report/index.js";
import { formatBytes, formatSeconds } from "../compiler/report/units.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const spec = path.join(repo, "specs/peer-1m.peer");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const wholeOnly = process.argv.includes("--whole-only");

/** Wall time of a child process, in seconds. */
function timeChild(args: readonly string[]): { seconds: number; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...args], { cwd: repo, encoding: "utf8", maxBuffer: 64 << 20 });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, status: r.status };
}

/** `peerc report SPEC` over `node -e 0`, for every shipped spec. */
function wholeProcessTable(): void {
  const specs = fs.readdirSync(path.join(repo, "specs")).filter((f) => f.endsWith(".peer")).sort().map((f) => `specs/${f}`);
  if (!fs.existsSync(path.join(repo, "dist/compiler/cli/main.js"))) {
    console.log("whole process: skipped, dist/ is not built (npm run build)");
    return;
  }
  const runs = 7;
  const rows: string[][] = [["spec", "peerc report", "node -e 0", "ratio", "within 5×"]];
  for (const spec of specs) {
    const peerc: number[] = [];
    const node: number[] = [];
    let status: number | null = 0;
    timeChild(["-e", "0"]); // warm the file cache
    timeChild([path.join(repo, "bin/peerc.js"), "report", spec]);
    for (let i = 0; i < runs; i++) {
      node.push(timeChild(["-e", "0"]).seconds);
      const r = timeChild([path.join(repo, "bin/peerc.js"), "report", spec]);
      peerc.push(r.seconds);
      if (r.status !== 0) status = r.status;
    }
    const ratio = median(peerc) / median(node);
    rows.push([spec + (status !== 0 ? ` (exit ${status})` : ""), formatSeconds(median(peerc)), formatSeconds(median(node)), `${ratio.toFixed(2)}×`, ratio <= 5 ? "yes" : "no"]);
  }
  console.log(`whole process, median of ${runs} (node ${process.version}, dist/ as built):`);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

if (wholeOnly) {
  wholeProcessTable();
  process.exit(0);
}

// 1. In process: check + cost + json and table rendering, after warm-up.
const report = () => {
  const result = checkFiles([spec]);
  const costs = result.program.models.map((m) => costModel(m));
  return renderReport(costs, { format: "json", depth: 99, color: false }).length + renderReport(costs, { format: "table", depth: 99, color: false }).length;
};
for (let i = 0; i < 5; i++) report();
const times: number[] = [];
for (let i = 0; i < 50; i++) {
  const t0 = process.hrtime.bigint();
  report();
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const inProcess = median(times);
const reportRss = process.memoryUsage().rss;
const reportMaxRss = process.resourceUsage().maxRSS * 1024;

// The parameter sizes, from the report itself.
const model = checkFiles([spec]).program.models[0]!;
const cost = costModel(model);
const sizes = cost.layers.flatMap((l) => Object.values(l.paramsBreakdown).map(Number));
const totalParams = sizes.reduce((s, n) => s + n, 0);

// 2. Whole process: node bin/peerc.js report (needs the built dist/).
let wholeProcess: number | null = null;
let wholeNote = "";
if (fs.existsSync(path.join(repo, "dist/compiler/cli/main.js"))) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(repo, "bin/peerc.js"), "report", "specs/peer-1m.peer", "--format", "json"], { cwd: repo, encoding: "utf8" });
  wholeProcess = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) wholeNote = ` (exit ${r.status})`;
} else {
  wholeNote = "skipped: dist/ not built (npm run build)";
}

// 3. Child: allocate every parameter with tf.zeros on the cpu backend.
const child = `
import * as tf from "@tensorflow/tfjs";
await tf.setBackend("cpu");
const sizes = JSON.parse(process.argv[1]);
const t0 = process.hrtime.bigint();
const tensors = sizes.map((n) => tf.zeros([n]));
// calloc'd zeros are not resident until written; any initialiser writes them.
for (const t of tensors) t.dataSync().fill(0);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ seconds, maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage().rss }));
`;
const t0 = process.hrtime.bigint();
const tfRun = spawnSync(process.execPath, ["--input-type=module", "-e", child, JSON.stringify(sizes)], { cwd: repo, encoding: "utf8", maxBuffer: 1 << 20 });
const tfWhole = Number(process.hrtime.bigint() - t0) / 1e9;
const tfLine = tfRun.stdout.trim().split("\n").pop() ?? "";
const tf = tfRun.status === 0 ? (JSON.parse(tfLine) as { seconds: number; maxRss: number; rss: number }) : null;

console.log(`spec: specs/peer-1m.peer — ${totalParams.toLocaleString("en-US")} params in ${sizes.length} tensors`);
const rows: [string, string, string, string][] = [["", "peerc report", "tfjs tf.zeros of all weights, written", "ratio (tfjs / peerc)"]];
rows.push([
  "time, in process (median of 50)",
  formatSeconds(inProcess),
  tf ? formatSeconds(tf.seconds) : "failed",
  tf ? `${(tf.seconds / inProcess).toFixed(0)}×` : "—",
]);
rows.push([
  "time, whole process",
  wholeProcess !== null ? formatSeconds(wholeProcess) + wholeNote : wholeNote,
  formatSeconds(tfWhole),
  wholeProcess !== null ? `${(tfWhole / wholeProcess).toFixed(1)}×` : "—",
]);
rows.push([
  "peak memory (maxRSS)",
  formatBytes(reportMaxRss),
  tf ? formatBytes(tf.maxRss) : "failed",
  tf ? `${(tf.maxRss / reportMaxRss).toFixed(1)}×` : "—",
]);
rows.push(["rss after", formatBytes(reportRss), tf ? formatBytes(tf.rss) : "—", ""]);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
if (!tf) console.log(`tfjs child failed: ${tfRun.stderr.slice(0, 500)}`);
console.log("(peerc's peak includes tsx and the whole compiler; tfjs's is weights only, no optimizer or activations)");
console.log("");
wholeProcessTable();
