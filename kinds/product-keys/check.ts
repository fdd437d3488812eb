/** Check-time constraints shared by the product-key kinds, pkm and peer (peer-facts §1, §6.1). */
import { groupDigits } from "../../compiler/check/values.js";
import type { LayerContext } from "../../compiler/check/layers/layer.js";

/** Reports N that is not a perfect square, with the two nearest squares as help; returns √N or null. */
export function requireSquare(n: number, kind: string, arg: string, why: string, ctx: LayerContext): number | null {
  const root = Math.round(Math.sqrt(n));
  if (root * root === n) return root;
  const lo = Math.floor(Math.sqrt(n));
  const hi = lo + 1;
  ctx.reporter.report({
    code: "E0301",
    message: `${kind} ${arg} must be a perfect square (${why})`,
    span: ctx.spans[arg] ?? ctx.at,
    label: `${groupDigits(n)} is not a square`,
    help: `use ${lo}^2 = ${groupDigits(lo * lo)} or ${hi}^2 = ${groupDigits(hi * hi)}`,
  });
  return null;
}

/** Product-key constraints shared by pkm and peer (peer-facts §1, §6.1). */
export function checkProductKeys(
  kind: string,
  sizeArg: string,
  n: number,
  keyDim: number,
  topk: number,
  subTopk: number,
  ctx: LayerContext,
): number | null {
  const sub = requireSquare(n, kind, sizeArg, "product keys need √N sub-keys per half", ctx);
  let ok = sub !== null;
  if (keyDim % 2 !== 0) {
    ctx.reporter.report({
      code: "E0306",
      message: `${kind} key_dim must be even (each half of a query is key_dim / 2 wide)`,
      span: ctx.spans.key_dim ?? ctx.at,
      label: `${groupDigits(keyDim)} is odd`,
      help: `use ${keyDim - 1} or ${keyDim + 1}`,
    });
    ok = false;
  }
  if (sub !== null && subTopk > sub) {
    ctx.reporter.report({
      code: "E0307",
      message: `${kind} sub_topk ${subTopk} is larger than the ${sub} sub-keys per half`,
      span: ctx.spans.sub_topk ?? ctx.spans.topk ?? ctx.at,
      label: `at most √${sizeArg} = ${sub}`,
      help: `use sub_topk ≤ ${sub}, or more ${sizeArg} (${subTopk}^2 = ${groupDigits(subTopk * subTopk)})`,
    });
    ok = false;
  }
  if (topk > subTopk * subTopk) {
    ctx.reporter.report({
      code: "E0308",
      message: `${kind} topk ${topk} is larger than the ${subTopk}² = ${groupDigits(subTopk * subTopk)} candidates it is chosen from`,
      span: ctx.spans.topk ?? ctx.at,
      label: `at most sub_topk² = ${groupDigits(subTopk * subTopk)}`,
      help: `use topk ≤ ${subTopk * subTopk} or raise sub_topk`,
    });
    ok = false;
  } else if (subTopk < topk) {
    ctx.reporter.report({
      code: "W0301",
      message: `${kind} sub_topk ${subTopk} is below topk ${topk}: the product-key top-k is no longer exact`,
      span: ctx.spans.sub_topk ?? ctx.at,
      label: `fewer than ${topk} per half`,
      notes: ["the k best keys are guaranteed to be among the candidates only when each half keeps at least k sub-keys"],
      help: `use sub_topk ≥ ${topk} (or leave it out: it defaults to topk)`,
    });
  }
  return ok ? sub : null;
}

/**
 * `bn_momentum` is the query BatchNorm's running-statistics weight: it means
 * nothing with a LayerNorm or no query norm, so it is refused there (E0315).
 * Returns whether the combination is valid.
 */
export function checkBnMomentum(kind: string, queryNorm: string, momentum: number | undefined, ctx: LayerContext): boolean {
  if (momentum === undefined || queryNorm === "batch") return true;
  ctx.reporter.report({
    code: "E0315",
    message: `${kind} bn_momentum needs query_norm: batch (this layer's query norm is ${queryNorm})`,
    span: ctx.spans.bn_momentum ?? ctx.at,
    label: "no BatchNorm running statistics to update",
    ...(ctx.spans.query_norm ? { labels: [{ span: ctx.spans.query_norm, message: `query_norm ${queryNorm} here` }] } : {}),
    help: queryNorm === "layer" ? "remove bn_momentum (LayerNorm keeps no running statistics), or use query_norm: batch" : "remove bn_momentum, or use query_norm: batch",
  });
  return false;
}
