/** Emitter of ffw: up (and gate) projection, the runtime's activation, down projection; sizes literal. */
import type { FfwLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { linearExpr, lit } from "../../compiler/emit/code.js";
import { tsString } from "../../compiler/emit/strings.js";

/** Statements of one MLP on `x` with weights under `root` ("w" or "ex"); the last is a return. */
export function mlpBody(layer: { dModel: number; hidden: number; act: FfwLayer["act"]; glu: boolean; bias: boolean }, root: string): string[] {
  const b = (part: string) => (layer.bias ? `${root}.${part}` : null);
  const lines = [`const up = ${linearExpr("x", `${root}.w_in`, b("b_in"))}; // [n, ${lit(layer.hidden)}]`];
  if (layer.glu) {
    lines.push(`const gate = ${linearExpr("x", `${root}.w_gate`, b("b_gate"))};`);
    lines.push(`const hidden = tf.mul(activate(gate, ${tsString(layer.act)}), up);`);
  } else {
    lines.push(`const hidden = activate(up, ${tsString(layer.act)});`);
  }
  lines.push(`return ${linearExpr("hidden", `${root}.w_out`, b("b_out"))}; // [n, ${lit(layer.dModel)}]`);
  return lines;
}

export function emitFfw(layer: FfwLayer): LayerEmission {
  return {
    name: layer.glu ? "gluFfw" : "ffw",
    summary: `feed-forward ${layer.dModel} → ${layer.hidden} → ${layer.dModel}, ${layer.act}${layer.glu ? ", GLU" : ""}`,
    input: "x",
    usesCtx: false,
    usesPath: false,
    tiedTo: null,
    body: mlpBody(layer, "w"),
  };
}
