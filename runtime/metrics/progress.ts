/**
 * Training progress: a bar (step/total, loss, tokens/s, MFU, ETA) on a
 * terminal; on anything else (CI logs, pipes) plain lines, one per `logEvery`
 * steps and at the last step, so logs stay readable.
 *
 * The bar is drawn synchronously on every update: a training step blocks the
 * event loop (tfjs kernels, dataSync), so a timer-driven redraw would never
 * run until the end of the run. A line printed with log() clears the bar,
 * prints the line and redraws the bar under it. Call stop() at the end: it
 * leaves the final frame on its own line.
 */
import { humanDuration, humanNumber } from "./format.js";

export interface ProgressOptions {
  readonly total: number;
  /** Step to start from (resumed runs), default 0. */
  readonly startStep?: number;
  /** Plain-line interval when not on a terminal (default 10). */
  readonly logEvery?: number;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
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

/** Carriage return + erase the whole line: the bar is redrawn in place. */
const CLEAR_LINE = "\r\x1b[2K";
const BAR_WIDTH = 24;

export class Progress {
  private readonly total: number;
  private readonly startStep: number;
  private readonly logEvery: number;
  private readonly stream: NodeJS.WritableStream & { columns?: number };
  private readonly started = performance.now();
  private readonly tty: boolean;
  /** The bar's current text (tty only); null before the first draw and after stop(). */
  private frame: string | null = null;
  private stopped = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.startStep = options.startStep ?? 0;
    this.logEvery = Math.max(1, options.logEvery ?? 10);
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean((this.stream as { isTTY?: boolean }).isTTY);
    if (this.tty) this.draw(this.barText(this.startStep, "–", "–", "–", "?"));
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

  /** The bar form: `████░░░░ 40/100 | loss 2.5000 | 2.5M tok/s | MFU 50.0% | ETA 12s`. */
  bar(u: ProgressUpdate): string {
    return this.barText(u.step, lossText(u.loss), humanNumber(u.tokensPerSecond), percent(u.mfu), humanDuration(this.eta(u.step)));
  }

  update(u: ProgressUpdate): void {
    if (this.stopped) return;
    if (this.tty) this.draw(this.bar(u));
    else if (u.step % this.logEvery === 0 || u.step >= this.total) this.stream.write(this.line(u) + "\n");
  }

  /** Print a line above the bar (or as-is without one). */
  log(line: string): void {
    const text = line.endsWith("\n") ? line : line + "\n";
    if (this.tty && this.frame !== null && !this.stopped) {
      this.stream.write(CLEAR_LINE + text + this.fit(this.frame));
    } else {
      this.stream.write(text);
    }
  }

  /** Ends the bar: the last frame stays on its own line. Safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tty && this.frame !== null) this.stream.write("\n");
    this.frame = null;
  }

  private barText(step: number, loss: string, tps: string, mfu: string, remaining: string): string {
    const filled = this.total > 0 ? Math.max(0, Math.min(BAR_WIDTH, Math.round((step / this.total) * BAR_WIDTH))) : 0;
    const bar = "█".repeat(filled) + "░".repeat(BAR_WIDTH - filled);
    return `${bar} ${step}/${this.total} | loss ${loss} | ${tps} tok/s | MFU ${mfu} | ETA ${remaining}`;
  }

  private draw(frame: string): void {
    this.frame = frame;
    this.stream.write(CLEAR_LINE + this.fit(frame));
  }

  /** Cut the frame to the terminal's width: a wrapped bar could not be redrawn in place. */
  private fit(frame: string): string {
    const columns = this.stream.columns;
    return columns !== undefined && columns > 1 && frame.length >= columns ? frame.slice(0, columns - 1) : frame;
  }
}
