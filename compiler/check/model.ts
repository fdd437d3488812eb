/**
 * From an expanded draft to IR layers: model properties, layer order, the
 * model width from `embed`, rope from `positions`, and each kind's schema and
 * constraints (layers/).
 */
import type { ModelDecl } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { IRLayer, IRResidual } from "../../ir/types.js";
import { intValue, readArgs } from "./args.js";
import type { ModelDraft, ParamSource, RawLayer } from "./expand.js";
import { LAYERS } from "./layers/index.js";
import type { LayerContext } from "./layers/layer.js";
import type { Reporter } from "./report.js";
import { show } from "./values.js";

export interface AssembledModel {
  readonly vocab: number;
  readonly context: number;
  readonly dModel: number;
  /** Where vocab, context and d_model (the embedding's `dim`) were written. */
  readonly propSpans: { readonly vocab: Span; readonly context: Span; readonly dModel: Span };
  readonly layers: IRLayer[];
  readonly residuals: IRResidual[];
  /** Per IR layer: where it came from beyond its own statement (for `peerc show`). */
  readonly layerOrigins: LayerOrigins[];
}

export interface LayerOrigins {
  /** The block calls the layer was expanded from, outermost first. */
  readonly calls: readonly LayerCall[];
  /** For an argument (by its span) that uses block parameters: where their values were written. */
  readonly params: ReadonlyMap<Span, readonly ParamSource[]>;
}

/** One block invocation on the way to a layer: the block's name and the statement that calls it. */
export interface LayerCall {
  readonly block: string;
  readonly span: Span;
}

const PROPERTY_LIMITS = { vocab: 2 ** 31, context: 2 ** 31 } as const;

export function assembleModel(decl: ModelDecl, draft: ModelDraft, reporter: Reporter): AssembledModel | null {
  const vocab = property(decl, draft, "vocab", reporter);
  const context = property(decl, draft, "context", reporter);
  const raw = draft.layers;
  if (raw.length === 0) {
    reporter.report({
      code: "E0407",
      message: `model \`${decl.name.name}\` has no layers`,
      span: decl.name.span,
      label: "empty model",
      help: "a model needs at least `embed tokens(dim: …)` and `lm_head`",
    });
    return null;
  }
  const structureOk = checkOrder(decl, raw, reporter);

  const read = raw.map((layer) => {
    const def = LAYERS[layer.kind];
    const extra: Record<string, { value: import("./values.js").Value; span: Span }> = {};
    if (layer.value) {
      if (!def.valueArg) {
        reporter.report({
          code: "E0312",
          message: `\`${layer.kind}\` takes no value before its arguments`,
          span: layer.value.span,
          label: `unexpected ${show(layer.value.value)}`,
          help: `write the settings as arguments: \`${layer.kind}(name: value)\``,
        });
        return null;
      }
      extra[def.valueArg] = layer.value;
    }
    return readArgs(def.schema, def.spec, layer.args, extra, layer.stmt.head.span, reporter);
  });

  const embedIndex = raw.findIndex((l) => l.kind === "embed");
  const embedArgs = embedIndex >= 0 ? read[embedIndex] : null;
  const dModel = embedArgs ? (embedArgs.data as { dim: number }).dim : null;
  if (vocab === null || context === null || dModel === null || !structureOk) return null;

  let rope: { base: number } | null = null;
  const positionsIndex = raw.findIndex((l) => l.kind === "positions");
  const positionsArgs = positionsIndex >= 0 ? read[positionsIndex] : null;
  if (positionsArgs) {
    const data = positionsArgs.data as { value: string; base?: number };
    if (data.value === "rope") rope = { base: data.base ?? 10000 };
    else if (data.base !== undefined) {
      reporter.report({
        code: "E0302",
        message: `\`positions ${data.value}\` has no argument \`base\``,
        span: positionsArgs.spans.base!,
        label: "only rope has a base",
        help: "remove it, or use `positions rope(base: …)`",
      });
      return null;
    }
  }

  const layers: IRLayer[] = [];
  const layerOrigins: LayerOrigins[] = [];
  /** IR index of each raw layer (rope and `positions none` produce none). */
  const irIndex: number[] = [];
  let ok = true;
  raw.forEach((layer, i) => {
    irIndex.push(layers.length);
    const args = read[i];
    if (!args) {
      ok = false;
      return;
    }
    if (layer.kind === "positions" && (args.data as { value: string }).value !== "learned") return;
    const ctx: LayerContext = { dModel, vocab, context, rope, reporter, at: layer.stmt.head.span, spans: args.spans };
    const fields = LAYERS[layer.kind].build(args.data, ctx);
    if (!fields) {
      ok = false;
      return;
    }
    layers.push({ ...fields, path: layer.path, index: layers.length, span: layer.stmt.span, argSpans: args.spans } as IRLayer);
    layerOrigins.push({ calls: layer.calls.map((call) => ({ block: call.head.name, span: call.span })), params: layer.params });
  });
  irIndex.push(layers.length);
  if (!ok) return null;
  const residuals = draft.residuals
    .map((r) => ({ path: r.path, start: irIndex[r.start]!, end: irIndex[r.end]!, span: r.span }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const propSpans = {
    vocab: draft.props.get("vocab")!.span,
    context: draft.props.get("context")!.span,
    dModel: embedArgs!.spans.dim ?? raw[embedIndex]!.stmt.span,
  };
  return { vocab, context, dModel, layers, residuals, propSpans, layerOrigins };
}

function property(decl: ModelDecl, draft: ModelDraft, name: "vocab" | "context", reporter: Reporter): number | null {
  const prop = draft.props.get(name);
  if (!prop) {
    reporter.report({
      code: "E0405",
      message: `model \`${decl.name.name}\` needs \`${name}\``,
      span: decl.name.span,
      label: `no \`${name}\``,
      help: name === "vocab" ? "add e.g. `vocab 32000` (256 for byte-level data)" : "add e.g. `context 2048` (tokens per sequence)",
    });
    return null;
  }
  if (prop.value.t === "error") return null;
  const n = intValue(prop.value, 1, PROPERTY_LIMITS[name]);
  if (typeof n === "number") return n;
  reporter.report({
    code: n.code,
    message: n.message.replaceAll("{arg}", name),
    span: prop.span,
    label: n.label,
    help: n.help?.replaceAll("{arg}", name),
  });
  return null;
}

function checkOrder(decl: ModelDecl, raw: readonly RawLayer[], reporter: Reporter): boolean {
  let ok = true;
  const once = (kind: string) => {
    const all = raw.filter((l) => l.kind === kind);
    for (const extra of all.slice(1)) {
      reporter.report({
        code: "E0402",
        message: `a model has one \`${kind}\`, this is the second`,
        span: extra.stmt.head.span,
        label: `another \`${kind}\` (${extra.path})`,
        labels: [{ span: all[0]!.stmt.head.span, message: `first \`${kind}\` here` }],
        help: "remove one of them",
      });
      ok = false;
    }
    return all[0];
  };
  const embed = once("embed");
  const positions = once("positions");
  const head = once("lm_head");
  if (!embed) {
    reporter.report({
      code: "E0401",
      message: `model \`${decl.name.name}\` has no \`embed\` layer`,
      span: decl.name.span,
      label: "no token embedding",
      help: "start the layers with `embed tokens(dim: …)`",
    });
    ok = false;
  } else if (raw[0] !== embed) {
    reporter.report({
      code: "E0401",
      message: "`embed` must be the first layer",
      span: embed.stmt.head.span,
      label: "embed comes after other layers",
      labels: [{ span: raw[0]!.stmt.head.span, message: `\`${raw[0]!.kind}\` comes first` }],
      help: "move `embed` to the start of the model",
    });
    ok = false;
  }
  if (positions && embed && raw[1] !== positions) {
    reporter.report({
      code: "E0403",
      message: "`positions` must come right after `embed`",
      span: positions.stmt.head.span,
      label: `found at layer ${raw.indexOf(positions)} (${positions.path})`,
      labels: [{ span: embed.stmt.head.span, message: "embed here" }],
      help: "move it to the line after `embed`",
    });
    ok = false;
  }
  if (!head) {
    reporter.report({
      code: "E0404",
      message: `model \`${decl.name.name}\` has no \`lm_head\``,
      span: decl.name.span,
      label: "no output layer",
      help: "end the layers with `lm_head tied` (or `lm_head untied`)",
    });
    ok = false;
  } else if (raw[raw.length - 1] !== head) {
    const after = raw[raw.indexOf(head) + 1]!;
    reporter.report({
      code: "E0404",
      message: "`lm_head` must be the last layer",
      span: after.stmt.head.span,
      label: `\`${after.kind}\` after the lm_head`,
      labels: [{ span: head.stmt.head.span, message: "lm_head here" }],
      help: `nothing may follow \`lm_head\`; ${raw.length - raw.indexOf(head) - 1} layer(s) come after it`,
    });
    ok = false;
  }
  return ok;
}

