/** What every layer kind defines once: its argument schema and how it becomes an IR layer. */
import type { z } from "zod";
import type { Span } from "../../../diagnostics/source.js";
import type { IRLayer, LayerKind } from "../../../ir/types.js";
import type { ArgsSpec } from "../args.js";
import type { Reporter } from "../report.js";

export interface LayerContext {
  /** Width of the residual stream, from `embed`. */
  readonly dModel: number;
  readonly vocab: number;
  readonly context: number;
  /** Set when the model says `positions rope`. */
  readonly rope: { readonly base: number } | null;
  readonly reporter: Reporter;
  /** The statement's head, for problems that belong to no single argument. */
  readonly at: Span;
  /** Where each argument was written. */
  readonly spans: Record<string, Span>;
}

export type LayerFields<K extends LayerKind> = Omit<Extract<IRLayer, { kind: K }>, "path" | "index" | "span" | "argSpans">;

type AnyObject = z.ZodObject<Record<string, z.ZodType>>;

export interface LayerDef<K extends LayerKind = LayerKind, S extends AnyObject = AnyObject> {
  readonly kind: K;
  readonly schema: S;
  readonly spec: ArgsSpec;
  /** The argument the statement's value fills (`norm rms` → type); absent when the kind takes no value. */
  readonly valueArg?: string;
  /** Returns null after reporting a problem. */
  build(data: z.output<S>, ctx: LayerContext): LayerFields<K> | null;
}

export function defineLayer<K extends LayerKind, S extends AnyObject>(def: LayerDef<K, S>): LayerDef<K, S> {
  return def;
}
