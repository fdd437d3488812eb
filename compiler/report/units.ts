/** Humanised units for reports and messages: 2.15 B params, 8.93 MFLOP, 1.2 GiB, 3.4 ms. */

/** Three significant digits, no trailing zeros after the point: 2.15, 54, 540, 0.0073. */
function sig3(x: number): string {
  if (x === 0) return "0";
  if (Math.abs(x) >= 100) return x.toFixed(0);
  const s = x.toPrecision(3);
  return s.includes(".") && !s.includes("e") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

function scaled(value: number, steps: readonly (readonly [number, string])[], unit: string, space = " "): string {
  const abs = Math.abs(value);
  const i = steps.findIndex(([scale]) => abs >= scale);
  if (i === -1) {
    // Below the smallest prefix, unless it rounds up into it (999.96 → 1 k).
    const last = steps[steps.length - 1]!;
    if (Number(sig3(abs)) >= 1000) return `${sig3(value / last[0])}${space}${last[1]}${unit}`;
    return `${sig3(value)}${space}${unit}`.trimEnd();
  }
  // Round first so 999,999 prints as 1 M, not 1000 K.
  const [scale, prefix] = Number(sig3(abs / steps[i]![0])) >= 1000 && i > 0 ? steps[i - 1]! : steps[i]!;
  return `${sig3(value / scale)}${space}${prefix}${unit}`;
}

const COUNT_STEPS: readonly (readonly [number, string])[] = [
  [1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"],
];
const SI_STEPS: readonly (readonly [number, string])[] = [
  [1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"],
];
const BINARY_STEPS: readonly (readonly [number, string])[] = [
  [2 ** 50, "Pi"], [2 ** 40, "Ti"], [2 ** 30, "Gi"], [2 ** 20, "Mi"], [2 ** 10, "Ki"],
];

/** Parameter and token counts: 2.15 B, 10.2 M, 512. */
export function formatCount(n: number | bigint): string {
  const v = Number(n);
  if (Math.abs(v) < 1000) return String(v);
  return scaled(v, COUNT_STEPS, "");
}

export function formatFlops(n: number): string {
  return scaled(n, SI_STEPS, "FLOP");
}

export function formatBytes(n: number): string {
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  return scaled(n, BINARY_STEPS, "B");
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "—";
  if (s === 0) return "0 s";
  if (s < 1e-3) return `${sig3(s * 1e6)} µs`;
  if (s < 1) return `${sig3(s * 1e3)} ms`;
  if (s < 120) return `${sig3(s)} s`;
  if (s < 2 * 3600) return `${sig3(s / 60)} min`;
  if (s < 2 * 86400) return `${sig3(s / 3600)} h`;
  return `${sig3(s / 86400)} days`;
}

/** Exact integers with thousands separators: 2,149,849,088. */
export function formatInt(n: number | bigint): string {
  const s = (typeof n === "bigint" ? n : BigInt(Math.round(n))).toString();
  const neg = s.startsWith("-");
  const digits = neg ? s.slice(1) : s;
  return (neg ? "-" : "") + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  if (p !== 0 && Math.abs(p) < 0.1) return `${p < 0 ? "-" : ""}<0.1%`;
  return `${sig3(p)}%`;
}

/** Scale of a unit as written in a budget ("GiB", "GFLOP", "M", "ms"); null when unknown. */
export function unitScale(unit: string): number | null {
  const u = unit.trim();
  const prefixes: Record<string, number> = {
    "": 1, K: 1e3, k: 1e3, M: 1e6, G: 1e9, B: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
  };
  const time: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6, "µs": 1e-6, ns: 1e-9, min: 60, h: 3600, d: 86400, days: 86400 };
  if (u in time) return time[u]!;
  const m = /^(Ki|Mi|Gi|Ti|Pi|K|k|M|G|T|P|E|B)?(FLOPs?|FLOP\/s|B|bytes?|params?|tokens?)?$/.exec(u);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  // "B" alone means billions (a count), "GB"/"GiB" means bytes.
  if (m[1] === "B" && m[2] !== undefined) return null;
  return prefixes[m[1] ?? ""]!;
}

/** A value in the unit the user wrote: (1.31e9, "GFLOP") → "1.31 GFLOP"; a bare suffix joins: "10M". */
export function formatInUnit(value: number, unit: string): string | null {
  const scale = unitScale(unit);
  if (scale === null) return null;
  const number = sig3(value / scale);
  const bareSuffix = /^(Ki|Mi|Gi|Ti|K|k|M|G|T|B)$/.test(unit.trim());
  return bareSuffix ? `${number}${unit.trim()}` : `${number} ${unit.trim()}`;
}
