/**
 * Metrics as JSON Lines: one object per line, appended without fsync (a lost
 * last line on a crash is fine; a stalled step waiting for the disk is not).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface MetricsRecord {
  readonly step: number;
  /** Tokens trained on so far. */
  readonly tokens?: number;
  readonly loss?: number;
  readonly lr?: number;
  readonly grad_norm?: number;
  readonly tokens_per_s?: number;
  readonly mfu?: number;
  readonly val_loss?: number;
  readonly val_bpb?: number;
  /** Seconds since the logger was created (filled in when omitted). */
  readonly time?: number;
  /** Anything else (e.g. per-layer expert usage). */
  readonly [extra: string]: unknown;
}

export class MetricsLogger {
  private fd: number | null;
  private readonly started = performance.now();

  /** Appends to `file` (created with its folder if missing). */
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, "a");
  }

  log(record: MetricsRecord): void {
    if (this.fd === null) throw new Error(`${this.file}: metrics logger is closed`);
    const full = { ...record, time: record.time ?? Math.round((performance.now() - this.started) / 10) / 100 };
    // JSON.stringify writes NaN and ±Infinity as null, which keeps every line parseable.
    fs.writeSync(this.fd, JSON.stringify(full) + "\n");
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Parse a metrics file (tests, plots after a run). Blank lines are skipped. */
export function readMetrics(file: string): MetricsRecord[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as MetricsRecord);
}
