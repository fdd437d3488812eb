/**
 * A device expert table's AdamW update on webgpu (docs/gpu.md, "Updates"),
 * alternating in one process on the same gradient:
 *   dense: the update every other variable gets (every row moves, as device
 *          tables did before the lazy update);
 *   lazy:  the row-masked lazy AdamW the trainer now gives device tables
 *          (its WGSL kernels, runtime/backend/kernels/lazy-adamw-webgpu.ts),
 *          with every row retrieved (the paper's batch) and with 63% of the
 *          rows retrieved (1 − e⁻¹: as many retrievals as rows), and the same
 *          update as portable tf ops (what other device backends run).
 * The lazy figures include marking the retrieved rows (the backward's part).
 * The table is the largest that fits lavapipe's 128 MiB binding limit at
 * d 64 unsharded (2^19 rows = 128 MiB would leave no room for tfjs's own
 * buffers: 2^18 rows, 64 MiB). Each figure is the median of ROUNDS (default 3)
 * updates, timed to the read of one element of the updated table.
 *
 *   npx tsx bench/device-update.ts            (lavapipe: about a minute; ROWS, COLS, ROUNDS override)
 */
import * as tf from "@tensorflow/tfjs";
import { DeviceTable } from "../kinds/product-keys/device.js";
import { describeBackend, selectBackend } from "../runtime/backend/select.js";
import { shutdownWebGpu } from "../runtime/backend/webgpu.js";
import type { NamedVariable } from "../runtime/layers/layer.js";
import { AdamW } from "../runtime/train/adamw.js";

const ROWS = Number(process.env["ROWS"] ?? 1 << 18);
const COLS = Number(process.env["COLS"] ?? 64);
const ROUNDS = Number(process.env["ROUNDS"] ?? 3);
const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const report = await selectBackend((process.env["BACKEND"] as "webgpu" | undefined) ?? "webgpu");
console.log(describeBackend(report));
console.log(`table [${ROWS.toLocaleString("en-US")}, ${COLS}] fp32 (${(ROWS * COLS * 4) / 2 ** 20} MiB), ${ROUNDS} timed updates per figure after one warm-up`);

const table = new DeviceTable("bench.experts.u", ROWS, COLS, new Float32Array(ROWS * COLS).fill(0.01), Number.POSITIVE_INFINITY);
const named = table.named[0]!;
const grad = tf.randomNormal([ROWS, COLS], 0, 1e-3);
const dense = new AdamW([{ name: named.name, variable: named.variable, noDecay: true, lrGroup: "table" } as NamedVariable], [], ADAM);
const lazy = new AdamW([named], [], ADAM);
const lazyOps = new AdamW([named], [], ADAM);
lazyOps.lazyKernels = false;
const allIds = tf.range(0, ROWS, 1, "int32") as tf.Tensor1D;
// As many uniform retrievals as rows: 1 − e⁻¹ ≈ 63% of the rows retrieved at least once.
const someIds = tf.randomUniform([ROWS], 0, ROWS, "int32") as tf.Tensor1D;
const grads = new Map([[named.name, grad]]);

async function timeUpdate(update: () => void): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const t0 = performance.now();
    update();
    const corner = tf.slice(named.variable, [0, 0], [1, 1]);
    await corner.data();
    corner.dispose();
    if (i > 0) ms.push(performance.now() - t0);
  }
  return median(ms);
}

const denseMs = await timeUpdate(() => dense.apply(grads, 1e-3, 1e-3));
const allMs = await timeUpdate(() => {
  table.markRetrieved(allIds);
  lazy.apply(grads, 1e-3, 1e-3);
});
const someMs = await timeUpdate(() => {
  table.markRetrieved(someIds);
  lazy.apply(grads, 1e-3, 1e-3);
});
const opsMs = await timeUpdate(() => {
  table.markRetrieved(allIds);
  lazyOps.apply(grads, 1e-3, 1e-3);
});
console.log(`dense AdamW (every row moves): ${denseMs.toFixed(0)} ms`);
console.log(`lazy, row mask, every row retrieved: ${allMs.toFixed(0)} ms (${(allMs / denseMs).toFixed(2)}× dense)`);
console.log(`lazy, row mask, 63% of rows retrieved: ${someMs.toFixed(0)} ms (${(someMs / denseMs).toFixed(2)}× dense)`);
console.log(`lazy as tf ops, every row retrieved: ${opsMs.toFixed(0)} ms (${(opsMs / denseMs).toFixed(2)}× dense)`);
tf.dispose([grad, allIds, someIds]);
dense.dispose();
lazy.dispose();
lazyOps.dispose();
table.dispose();
shutdownWebGpu();
