/** One layer's cost: its kind's formula (kinds/<kind>/cost.ts via the registry), then the bookkeeping every kind shares. */
import type { IRLayer, IRModel } from "../../ir/types.js";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { KindCost, LayerCost } from "./types.js";
import { BACKWARD_FACTOR } from "./conventions.js";
import { elementwise, sumBig, sumTerms } from "./terms.js";
import { isLayerKind, kindOf } from "../../kinds/index.js";

/** Thrown when a layer reaches the cost model with a kind it has no formula for: a bug, never a silent 0. */
export class CostModelError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = "CostModelError";
  }
}

function kindCost(layer: IRLayer, model: IRModel): KindCost {
  if (!isLayerKind(layer.kind)) {
    // A malformed IR at run time is reported, not counted as zero (a new kind
    // without a registry line fails to compile in kinds/index.ts).
    const l = layer as { kind?: unknown; path?: unknown; span?: IRLayer["span"] };
    throw new CostModelError(
      diagnostic({
        code: "E0690",
        message: `internal error: the cost model has no formula for layer kind '${String(l.kind)}' (layer '${String(l.path)}')`,
        span: l.span,
        notes: ["this is a bug in peerc, not in your spec; please report it with the spec"],
      }),
    );
  }
  return kindOf(layer).cost(layer, model);
}

const NOT_ARGS = new Set(["path", "index", "span", "argSpans", "kind"]);

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** The layer's resolved arguments as flat snake_case values (`rope: {base}` → `rope_base`). */
export function layerArgs(layer: IRLayer, dModel: number): Record<string, number | string | boolean | null> {
  // Every layer states the model width it sits in, whatever its own arguments are called.
  const out: Record<string, number | string | boolean | null> = { d_model: dModel };
  for (const [key, value] of Object.entries(layer)) {
    if (NOT_ARGS.has(key)) continue;
    if (value === null || typeof value === "number" || typeof value === "string" || typeof value === "boolean") {
      out[snake(key)] = value;
    } else if (typeof value === "object") {
      for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") out[`${snake(key)}_${snake(inner)}`] = v;
      }
    }
  }
  return out;
}

/**
 * `residualAdds`: how many residual connections close after this layer; each
 * adds x + f(x) over d_model, counted here so totals stay a sum of layers.
 */
export function layerCost(layer: IRLayer, model: IRModel, residualAdds = 0): LayerCost {
  let k = kindCost(layer, model);
  if (residualAdds > 0) {
    const d = model.dModel;
    k = {
      ...k,
      terms: [...k.terms, elementwise("residual_add", residualAdds * d)],
      traffic: { ...k.traffic, activationElementsPerToken: k.traffic.activationElementsPerToken + residualAdds * 3 * d },
    };
  }
  const forward = sumTerms(k.terms);
  return {
    ...k,
    path: layer.path,
    kind: layer.kind,
    index: layer.index,
    span: layer.span,
    args: layerArgs(layer, model.dModel),
    params: sumBig(k.paramsBreakdown),
    buffers: sumBig(k.buffersBreakdown),
    forward,
    backward: { matrix: BACKWARD_FACTOR * forward.matrix, elementwise: BACKWARD_FACTOR * forward.elementwise },
    macs: forward.matrix / 2,
    expertMoments: model.train?.optimizer.expertMoments ?? "fp32",
  };
}
