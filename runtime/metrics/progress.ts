/**
 * Training progress: a cli-progress bar (step/total, loss, tokens/s, MFU,
 * ETA) on a terminal; on anything else (CI logs, pipes) plain lines, one per
 * `logEvery` steps and at the last step, so logs stay readable.
 * Always call stop(): the bar's redraw timer keeps the process alive.
 */
import cliProgress from "cli-progress";
import { humanDuration, humanNumber } from "./format.js";

export interface ProgressOptions {
  readonly total: number;
  /** Step to start from (resumed runs), default 0. */
  readonly startStep?: number;
  /** Plain-line interval when not on a terminal (default 10). */
  readonly logEvery?: number;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force bar (true) or plain lines (false); default stream.isTTY. */
  readonly tty?: boolean;
}

export interface ProgressUpdate {
  readonly step: number;
  readonly loss: number;
  readonly tokensPerSecond: number;
  /** Fraction (0.012 = 1.2%); NaN or omitted when unknown. */
  readonly mfu?: number;
}

const percent = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(1)}%`);
const lossText = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));

export class Progress {
  private readonly total: number;
  private readonly startStep: number;
  private readonly logEvery: number;
  private readonly stream: NodeJS.WritableStream;
  private readonly started = performance.now();
  private readonly multibar: cliProgress.MultiBar | null = null;
  private readonly bar: cliProgress.SingleBar | null = null;
  private stopped = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.startStep = options.startStep ?? 0;
    this.logEvery = Math.max(1, options.logEvery ?? 10);
    this.stream = options.stream ?? process.stderr;
    const tty = options.tty ?? Boolean((this.stream as { isTTY?: boolean }).isTTY);
    if (tty) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: this.stream,
          format: "{bar} {value}/{total} | loss {loss} | {tps} tok/s | MFU {mfu} | ETA {remaining}",
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          // A forced bar on a stream that is not a terminal (tty: true) must still draw.
          noTTYOutput: options.tty === true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multibar.create(this.total, this.startStep, { loss: "–", tps: "–", mfu: "–", remaining: "?" });
    }
  }

  /** Seconds left, extrapolating the average step time since this run (or resume) began. */
  eta(step: number): number {
    const done = step - this.startStep;
    if (done <= 0) return NaN;
    const perStep = (performance.now() - this.started) / 1000 / done;
    return perStep * Math.max(0, this.total - step);
  }

  /** The plain-line form (also used for non-TTY output). */
  line(u: ProgressUpdate): string {
    return (
      `step ${u.step}/${this.total} | loss ${lossText(u.loss)} | ${humanNumber(u.tokensPerSecond)} tok/s` +
      ` | MFU ${percent(u.mfu)} | ETA ${humanDuration(this.eta(u.step))}`
    );
  }

  update(u: ProgressUpdate): void {
    if (this.stopped) return;
    if (this.bar !== null) {
      this.bar.update(u.step, {
        loss: lossText(u.loss),
        tps: humanNumber(u.tokensPerSecond),
        mfu: percent(u.mfu),
        remaining: humanDuration(this.eta(u.step)),
      });
    } else if (u.step % this.logEvery === 0 || u.step >= this.total) {
      this.stream.write(this.line(u) + "\n");
    }
  }

  /** Print a line above the bar (or as-is without one). */
  log(line: string): void {
    const text = line.endsWith("\n") ? line : line + "\n";
    if (this.multibar !== null && !this.stopped) this.multibar.log(text);
    else this.stream.write(text);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.multibar?.stop();
  }
}
