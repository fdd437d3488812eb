/** Report helpers shared by pkm and peer. */
import { formatCount } from "../../compiler/report/units.js";

/** A table size as √N² when it is a square ≥ 4 (product keys), else grouped digits. */
export function squareCount(n: number): string {
  const r = Math.round(Math.sqrt(n));
  return r * r === n && n >= 4 ? `${r}²` : formatCount(n);
}
