/**
 * Every code the checker can emit, with a one-line title. Codes never change
 * meaning; docs/diagnostics.md is generated from this list plus the golden
 * fixtures in test/fixtures/bad/ (one per code at least).
 *
 * E01xx names, scopes, imports · E02xx values and evaluation · E03xx layer
 * arguments · E04xx model structure · E05xx train and budget sections ·
 * W01xx+ warnings.
 */
import type { CatalogEntry } from "../diagnostic.js";

const entries = {
  E0101: "name already defined in this scope",
  E0102: "name defined in two files",
  E0103: "imported file not found",
  E0104: "import cycle",
  E0105: "unknown statement",
  E0106: "invalid import path",
  E0107: "duplicate model name",
  E0108: "recursive block",
  E0109: "statement not allowed here",
  E0110: "unknown block argument",
  E0111: "missing block argument",
  E0112: "duplicate block argument",
  E0113: "too many positional block arguments",
  E0199: "internal error in the checker",

  E0201: "operator applied to values of the wrong type",
  E0202: "integer division is not exact",
  E0203: "division by zero",
  E0204: "exponent out of range",
  E0205: "integer too large",
  E0206: "value has the wrong type",
  E0207: "percentage where a count is expected",
  E0208: "condition is not a bool",
  E0209: "value list where one value is required",
  E0210: "value must be positive",
  E0211: "repeat count out of range",
  E0212: "too many sweep variants",
  E0213: "empty value list",
  E0214: "value out of range",

  E0301: "experts or memories must be a perfect square",
  E0302: "unknown argument",
  E0303: "missing required argument",
  E0304: "duplicate argument",
  E0305: "value not allowed for this argument",
  E0306: "key_dim must be even",
  E0307: "sub_topk larger than the number of sub-keys",
  E0308: "topk larger than the candidates it is chosen from",
  E0309: "size does not divide",
  E0310: "rope needs an even head_dim",
  E0311: "pkm value_dim must equal d_model",
  E0312: "positional argument not accepted",
  E0313: "flag given a value that is not a bool",
  E0314: "unknown layer kind",
  E0315: "bn_momentum without query_norm batch",

  E0401: "embed missing or not first",
  E0402: "layer appears more than once",
  E0403: "positions not right after embed",
  E0404: "lm_head missing or not last",
  E0405: "missing model property",
  E0406: "property given twice",
  E0407: "model has no layers",
  E0408: "empty residual",

  E0501: "train or budget for an unknown model",
  E0502: "model has two train sections",
  E0503: "missing train setting",
  E0504: "more than one training horizon",
  E0505: "micro_batch does not divide batch",
  E0506: "unknown train setting",
  E0507: "train setting given twice",
  E0508: "unknown budget metric",
  E0509: "unit does not fit the metric",
  E0510: "hardware target missing or unknown",
  E0511: "invalid data path",
  E0512: "unknown budget qualifier",
  E0513: "training horizon gives no step, or more steps than a run can count",

  W0101: "unused let",
  W0301: "sub_topk below topk: product-key top-k no longer exact",
} as const;

export type CheckCode = keyof typeof entries;

export const CHECK_CATALOG: readonly CatalogEntry[] = Object.entries(entries).map(([code, title]) => ({
  code,
  severity: code.startsWith("W") ? "warning" : "error",
  title,
}));
