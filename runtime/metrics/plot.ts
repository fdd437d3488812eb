/**
 * Loss curves as a self-contained SVG: train and validation loss against
 * step, axes with "nice" ticks (1, 2, 5 × 10^k) labelled in short form
 * (1.5k, 20k), a legend and a title. Deterministic: the same series give the
 * same bytes. Non-finite losses are left out.
 */
import { humanNumber } from "./format.js";

export interface LossPoint {
  readonly step: number;
  readonly loss: number;
}

export interface LossSeries {
  readonly train: readonly LossPoint[];
  readonly val: readonly LossPoint[];
}

export interface PlotOptions {
  readonly width?: number;
  readonly height?: number;
  readonly title?: string;
}

/** Train and validation curves from metrics records (rows without a finite value are skipped). */
export function lossSeriesFromMetrics(records: readonly { step: number; loss?: unknown; val_loss?: unknown }[]): LossSeries {
  const pick = (key: "loss" | "val_loss"): LossPoint[] =>
    records
      .filter((r) => typeof r[key] === "number" && Number.isFinite(r[key]))
      .map((r) => ({ step: r.step, loss: r[key] as number }));
  return { train: pick("loss"), val: pick("val_loss") };
}

const MARGIN = { left: 64, right: 20, top: 40, bottom: 48 };
const COLORS = { train: "#1f77b4", val: "#d62728" };

/** Tick spacing of about `target` ticks over [lo, hi]: 1, 2 or 5 × 10^k. */
export function niceStep(lo: number, hi: number, target = 5): number {
  const span = hi - lo;
  if (!(span > 0)) return 1;
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

/** [lo, hi] widened to multiples of the nice tick step; a single value gets a unit-wide range. */
export function niceDomain(lo: number, hi: number, target = 5): { lo: number; hi: number; step: number } {
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(lo, hi, target);
  return { lo: Math.floor(lo / step + 1e-9) * step, hi: Math.ceil(hi / step - 1e-9) * step, step };
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** Coordinates with 2 decimals, no trailing zeros: short and stable. */
const c = (x: number): string => String(Math.round(x * 100) / 100);

export function lossPlotSvg(series: LossSeries, options: PlotOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const title = options.title ?? "Loss";
  const clean = (pts: readonly LossPoint[]): LossPoint[] =>
    pts.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.loss));
  const train = clean(series.train);
  const val = clean(series.val);
  const all = [...train, ...val];
  const x = niceDomain(all.length ? Math.min(...all.map((p) => p.step)) : 0, all.length ? Math.max(...all.map((p) => p.step)) : 1);
  const y = niceDomain(all.length ? Math.min(...all.map((p) => p.loss)) : 0, all.length ? Math.max(...all.map((p) => p.loss)) : 1);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (step: number): number => MARGIN.left + ((step - x.lo) / (x.hi - x.lo)) * plotW;
  const py = (loss: number): number => MARGIN.top + (1 - (loss - y.lo) / (y.hi - y.lo)) * plotH;
  const bottom = MARGIN.top + plotH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${c(width / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  out.push(`<rect class="plot-area" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);

  out.push(`<g class="x-ticks">`);
  for (let i = 0; x.lo + i * x.step <= x.hi + x.step * 1e-9; i++) {
    const v = x.lo + i * x.step;
    out.push(`<line x1="${c(px(v))}" y1="${bottom}" x2="${c(px(v))}" y2="${bottom + 5}" stroke="#333"/>`);
    out.push(`<text x="${c(px(v))}" y="${bottom + 18}" text-anchor="middle">${humanNumber(v)}</text>`);
  }
  out.push(`</g>`);
  out.push(`<g class="y-ticks">`);
  for (let i = 0; y.lo + i * y.step <= y.hi + y.step * 1e-9; i++) {
    const v = y.lo + i * y.step;
    out.push(`<line x1="${MARGIN.left - 5}" y1="${c(py(v))}" x2="${MARGIN.left}" y2="${c(py(v))}" stroke="#333"/>`);
    out.push(`<line x1="${MARGIN.left}" y1="${c(py(v))}" x2="${MARGIN.left + plotW}" y2="${c(py(v))}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${c(py(v) + 4)}" text-anchor="end">${humanNumber(Number(v.toPrecision(12)))}</text>`);
  }
  out.push(`</g>`);
  out.push(`<text x="${c(MARGIN.left + plotW / 2)}" y="${height - 10}" text-anchor="middle">step</text>`);
  out.push(`<text x="16" y="${c(MARGIN.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${c(MARGIN.top + plotH / 2)})">loss</text>`);

  const polyline = (name: "train" | "val", pts: LossPoint[]): void => {
    if (pts.length === 0) return;
    const coords = pts.map((p) => `${c(px(p.step))},${c(py(p.loss))}`).join(" ");
    out.push(`<polyline class="${name}" fill="none" stroke="${COLORS[name]}" stroke-width="1.5" points="${coords}"/>`);
  };
  polyline("train", train);
  polyline("val", val);

  const lx = MARGIN.left + plotW - 130;
  const ly = MARGIN.top + 10;
  out.push(`<g class="legend">`);
  out.push(`<rect x="${lx}" y="${ly}" width="120" height="44" fill="white" stroke="#ccc"/>`);
  out.push(`<line x1="${lx + 8}" y1="${ly + 14}" x2="${lx + 32}" y2="${ly + 14}" stroke="${COLORS.train}" stroke-width="2"/>`);
  out.push(`<text x="${lx + 38}" y="${ly + 18}">train loss</text>`);
  out.push(`<line x1="${lx + 8}" y1="${ly + 32}" x2="${lx + 32}" y2="${ly + 32}" stroke="${COLORS.val}" stroke-width="2"/>`);
  out.push(`<text x="${lx + 38}" y="${ly + 36}">validation loss</text>`);
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
