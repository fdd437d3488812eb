import type { Activation } from "../../../ir/types.js";
import { word } from "../args.js";

export const ACTIVATIONS: readonly Activation[] = ["relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "identity"];
export const activation = () => word(ACTIVATIONS);
