/** Short human forms of numbers for progress lines and plot ticks. */

/** 1234 → "1.23k", 2.5e6 → "2.5M", 0.125 → "0.125", 0 → "0". At most 3 significant digits. */
export function humanNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, suffix] of units) {
    if (abs >= scale) return `${trim((n / scale).toPrecision(3))}${suffix}`;
  }
  if (abs === 0) return "0";
  if (abs < 1e-3) return n.toExponential(1);
  return trim(n.toPrecision(3));
}

function trim(s: string): string {
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

/** Seconds → "45s", "3m20s", "2h05m". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
