/**
 * Sweep plots as self-contained SVG: validation bits per byte against a
 * log-scaled x (parameters — the paper's Figure 1 — or the number of experts
 * N — Figure 3a), one series per method (polyline through its variants in x
 * order, a marker per variant), a legend and a title. Deterministic: the same
 * points give the same bytes. Each series is one `<g class="series" data-method="…">`.
 */
export interface PlotPoint {
  readonly x: number;
  readonly y: number;
}

export interface PlotSeries {
  readonly name: string;
  readonly points: readonly PlotPoint[];
}

export interface SweepPlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
}

const BASE_MARGIN = { left: 64, right: 150, top: 40, bottom: 48 };
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/[\u0000-\u001f\u007f]/g, "?");
const c = (v: number): string => String(Math.round(v * 100) / 100);

/** 1.5k, 20M, 3G: a short label for a positive count. */
export function shortCount(v: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of units) if (Math.abs(v) >= size) return `${Number((v / size).toPrecision(3))}${suffix}`;
  return String(Number(v.toPrecision(3)));
}

function linearDomain(lo: number, hi: number): { lo: number; hi: number; step: number } {
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const step = (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
  return { lo: Math.floor(lo / step + 1e-9) * step, hi: Math.ceil(hi / step - 1e-9) * step, step };
}

export function sweepPlotSvg(series: readonly PlotSeries[], options: SweepPlotOptions): string {
  // The legend sits right of the plot: room for the longest name (about 7 px a character at 12 px).
  const longest = Math.max(0, ...series.map((s) => s.name.length));
  const MARGIN = { ...BASE_MARGIN, right: Math.max(BASE_MARGIN.right, 36 + 7 * longest) };
  const width = options.width ?? 640 + MARGIN.right;
  const height = options.height ?? 420;
  const clean = series.map((s) => ({
    name: s.name,
    points: s.points.filter((p) => Number.isFinite(p.x) && p.x > 0 && Number.isFinite(p.y)).slice().sort((a, b) => a.x - b.x),
  }));
  const all = clean.flatMap((s) => s.points);
  const xs = all.map((p) => Math.log10(p.x));
  const xLo = all.length ? Math.floor(Math.min(...xs) - 0.15) : 0;
  const xHi = all.length ? Math.ceil(Math.max(...xs) + 0.15) : 1;
  const xDom = { lo: xLo, hi: xHi === xLo ? xLo + 1 : xHi };
  const y = linearDomain(all.length ? Math.min(...all.map((p) => p.y)) : 0, all.length ? Math.max(...all.map((p) => p.y)) : 1);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + ((Math.log10(x) - xDom.lo) / (xDom.hi - xDom.lo)) * plotW;
  const py = (v: number): number => MARGIN.top + (1 - (v - y.lo) / (y.hi - y.lo)) * plotH;
  const bottom = MARGIN.top + plotH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${c((MARGIN.left + plotW / 2))}" y="24" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  out.push(`<rect class="plot-area" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<g class="x-ticks">`);
  for (let e = xDom.lo; e <= xDom.hi; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${c(px(v))}" y1="${bottom}" x2="${c(px(v))}" y2="${bottom + 5}" stroke="#333"/>`);
    out.push(`<line x1="${c(px(v))}" y1="${MARGIN.top}" x2="${c(px(v))}" y2="${bottom}" stroke="#eee"/>`);
    out.push(`<text x="${c(px(v))}" y="${bottom + 18}" text-anchor="middle">${shortCount(v)}</text>`);
  }
  out.push(`</g>`);
  out.push(`<g class="y-ticks">`);
  for (let i = 0; y.lo + i * y.step <= y.hi + y.step * 1e-9; i++) {
    const v = Number((y.lo + i * y.step).toPrecision(12));
    out.push(`<line x1="${MARGIN.left - 5}" y1="${c(py(v))}" x2="${MARGIN.left}" y2="${c(py(v))}" stroke="#333"/>`);
    out.push(`<line x1="${MARGIN.left}" y1="${c(py(v))}" x2="${MARGIN.left + plotW}" y2="${c(py(v))}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${c(py(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  out.push(`</g>`);
  out.push(`<text x="${c(MARGIN.left + plotW / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)} (log scale)</text>`);
  out.push(`<text x="16" y="${c(MARGIN.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${c(MARGIN.top + plotH / 2)})">${escapeXml(options.yLabel)}</text>`);

  clean.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<g class="series" data-method="${escapeXml(s.name)}">`);
    if (s.points.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${s.points.map((p) => `${c(px(p.x))},${c(py(p.y))}`).join(" ")}"/>`);
    }
    for (const p of s.points) out.push(`<circle cx="${c(px(p.x))}" cy="${c(py(p.y))}" r="4" fill="${color}"/>`);
    out.push(`</g>`);
  });

  const lx = MARGIN.left + plotW + 12;
  out.push(`<g class="legend">`);
  clean.forEach((s, i) => {
    const ly = MARGIN.top + 10 + i * 20;
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<circle cx="${lx + 6}" cy="${ly}" r="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
