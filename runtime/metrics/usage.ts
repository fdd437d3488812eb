/**
 * Expert usage and unevenness of product-key layers (PEER/PKM), as defined in
 * the paper's Table 2: z'_i = Σ_x g_i(x) over the evaluation tokens (g_i = 0
 * when expert i is not selected), z = z' / ‖z'‖₁,
 *   usage      = #{i : z_i ≠ 0} / N
 *   unevenness = KL(z ‖ uniform) = log N + Σ_i z_i log z_i   (nats; 0 = perfectly even)
 * Accumulated in a Float64Array of N (8 MiB at N = 1M).
 */
import type { RoutingRecord } from "../layers/layer.js";

export interface UsageSummary {
  readonly path: string;
  readonly numExperts: number;
  /** Fraction of experts with non-zero accumulated score, in [0, 1]. */
  readonly usage: number;
  /** KL divergence from uniform, in nats. */
  readonly unevenness: number;
}

export class ExpertUsage {
  private readonly z: Float64Array;

  constructor(
    readonly path: string,
    readonly numExperts: number,
  ) {
    this.z = new Float64Array(numExperts);
  }

  /** Accumulate one forward pass's routing (ids and weights of the same layout). */
  add(record: RoutingRecord): void {
    const { ids, weights } = record;
    if (ids.length !== weights.length) throw new Error(`${this.path}: routing record has ${ids.length} ids but ${weights.length} weights`);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= this.numExperts) throw new RangeError(`${this.path}: expert id ${id} outside [0, ${this.numExperts})`);
      this.z[id] += weights[i];
    }
  }

  /** Accumulated z' (read-only view). */
  scores(): Float64Array {
    return this.z;
  }

  usage(): number {
    let used = 0;
    for (let i = 0; i < this.z.length; i++) if (this.z[i] !== 0) used++;
    return used / this.numExperts;
  }

  unevenness(): number {
    let total = 0;
    for (let i = 0; i < this.z.length; i++) total += this.z[i];
    if (!(total > 0)) return NaN; // nothing routed yet
    let sum = 0;
    for (let i = 0; i < this.z.length; i++) {
      const p = this.z[i] / total;
      if (p > 0) sum += p * Math.log(p);
    }
    return Math.log(this.numExperts) + sum;
  }

  summary(): UsageSummary {
    return { path: this.path, numExperts: this.numExperts, usage: this.usage(), unevenness: this.unevenness() };
  }

  reset(): void {
    this.z.fill(0);
  }
}

/** The RoutingStats behind each recorder function, for recordLater. */
const statsOfRecorder = new WeakMap<(record: RoutingRecord) => void, RoutingStats>();

/**
 * A routing record still being read from the device (webgpu reads only
 * asynchronously, kinds/peer/device.ts): a RoutingStats recorder takes it in
 * settle(), in the order the records were made; any other recorder once read.
 */
export function recordLater(recorder: (record: RoutingRecord) => void, pending: Promise<RoutingRecord>): void {
  // Handled here so that a failed read waits for settle() to throw rather than crash the process.
  pending.catch(() => undefined);
  const stats = statsOfRecorder.get(recorder);
  if (stats !== undefined) stats.pending.push(pending);
  else void pending.then(recorder);
}

/** Usage of every routed layer in one evaluation: pass `recorder` as ForwardContext.recordRouting. */
export class RoutingStats {
  private readonly layers = new Map<string, ExpertUsage>();
  /** Records made by recordLater, not yet added. */
  readonly pending: Promise<RoutingRecord>[] = [];

  readonly recorder = (record: RoutingRecord): void => {
    let layer = this.layers.get(record.path);
    if (layer === undefined) this.layers.set(record.path, (layer = new ExpertUsage(record.path, record.numExperts)));
    layer.add(record);
  };

  constructor() {
    statsOfRecorder.set(this.recorder, this);
  }

  /** Adds the records still being read (recordLater), in the order they were made. */
  async settle(): Promise<void> {
    for (const record of this.pending.splice(0)) this.recorder(await record);
  }

  summaries(): UsageSummary[] {
    return [...this.layers.values()].map((l) => l.summary());
  }

  reset(): void {
    this.layers.clear();
    this.pending.length = 0;
  }
}
