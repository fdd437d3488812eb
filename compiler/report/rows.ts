/**
 * Per-layer rows of the human reports, with `--depth N` folding: layers whose
 * path is deeper than N segments are summed into one row for their prefix.
 */
import type { LayerCost, ModelCost } from "../cost/types.js";
import { layerTrainMemory } from "../cost/memory.js";
import { kindOf } from "../../kinds/index.js";

export interface Row {
  readonly path: string;
  readonly depth: number;
  readonly kind: string;
  readonly args: string;
  readonly params: bigint;
  readonly activeParams: bigint;
  readonly forwardFlops: number;
  readonly trainMemoryFp32: number;
  readonly bound: string;
  readonly layers: number;
}

/** The few arguments that identify a layer at a glance (each kind's `summary`, kinds/<kind>/index.ts). */
export function keyArgs(l: LayerCost): string {
  return kindOf(l).summary(l.args);
}

function segments(path: string): string[] {
  return path.split(".");
}

export function reportRows(cost: ModelCost, depth: number, target: string): Row[] {
  const estimate = cost.roofline.find((r) => r.target === target) ?? null;
  const tokensPerStep = cost.train ? cost.train.tokensPerStep : cost.tokensPerPass;
  const leaf = (l: LayerCost): Row => ({
    path: l.path,
    depth: segments(l.path).length - 1,
    kind: l.kind,
    args: keyArgs(l),
    params: l.params,
    activeParams: l.activeParams,
    forwardFlops: l.forward.matrix + l.forward.elementwise,
    trainMemoryFp32: layerTrainMemory(l, "fp32", tokensPerStep, cost.tokensPerPass).total,
    bound: estimate ? estimate.layers[l.index]!.bound : "",
    layers: 1,
  });
  const rows: Row[] = [];
  let group: { prefix: string; members: Row[] } | null = null;
  const flush = () => {
    if (!group) return;
    const m = group.members;
    if (m.length === 1 && m[0]!.path === group.prefix) rows.push(m[0]!);
    else {
      const kinds = [...new Set(m.map((r) => r.kind))];
      const bounds = [...new Set(m.map((r) => r.bound))];
      rows.push({
        path: group.prefix,
        depth: segments(group.prefix).length - 1,
        kind: kinds.join("+"),
        args: `${m.length} layers`,
        params: m.reduce((s, r) => s + r.params, 0n),
        activeParams: m.reduce((s, r) => s + r.activeParams, 0n),
        forwardFlops: m.reduce((s, r) => s + r.forwardFlops, 0),
        trainMemoryFp32: m.reduce((s, r) => s + r.trainMemoryFp32, 0),
        bound: bounds.length === 1 ? bounds[0]! : "mixed",
        layers: m.length,
      });
    }
    group = null;
  };
  for (const l of cost.layers) {
    const segs = segments(l.path);
    const prefix = segs.slice(0, Math.max(1, depth)).join(".");
    if (segs.length <= depth) {
      flush();
      rows.push(leaf(l));
      continue;
    }
    if (!group || group.prefix !== prefix) {
      flush();
      group = { prefix, members: [] };
    }
    group.members.push(leaf(l));
  }
  flush();
  return rows;
}
