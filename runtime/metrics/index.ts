/**
 * runtime/metrics — what a training run reports.
 *
 *   const log = new MetricsLogger("runs/x/metrics.jsonl"); log.log({ step, tokens, loss, lr, grad_norm, ... }); log.close();
 *   bitsPerByte(meanNatsPerToken, tokens, bytes)  |  new BpbAccumulator().add(sumNats, tokens, bytes)
 *   const routing = new RoutingStats();  // ctx.recordRouting = routing.recorder; routing.summaries() → [{ path, usage, unevenness }]
 *   const peak = cachedPeak(tf);         // FLOP/s, measured once per backend + CPU, cached in ~/.cache/peerc/peak-<backend>.json
 *   mfu(forwardFlopsPerToken, tokensPerSecond, peak)
 *   const bar = new Progress({ total, startStep, logEvery }); bar.update({ step, loss, tokensPerSecond, mfu }); bar.log(line); bar.stop();
 *   fs.writeFileSync("runs/x/loss.svg", lossPlotSvg({ train: [{ step, loss }], val: [...] }, { title }));
 *     or lossPlotSvg(lossSeriesFromMetrics(readMetrics("runs/x/metrics.jsonl")), { title })
 */
export { MetricsLogger, readMetrics, type MetricsRecord } from "./jsonl.js";
export { bitsPerByte, BpbAccumulator } from "./bpb.js";
export { ExpertUsage, RoutingStats, type UsageSummary } from "./usage.js";
export { measureMatmulPeak, measureMatmulPeakAsync, cachedPeak, cachedPeakAsync, mfu, cpuModel, type MatmulTf, type MatmulTfAsync, type PeakProbeOptions, type CachedPeakOptions } from "./mfu.js";
export { Progress, type ProgressOptions, type ProgressUpdate } from "./progress.js";
export { lossPlotSvg, lossSeriesFromMetrics, niceDomain, niceStep, type LossPoint, type LossSeries, type PlotOptions } from "./plot.js";
export { humanNumber, humanDuration } from "./format.js";
