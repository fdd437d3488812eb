/**
 * Everything the CLI touches outside itself, behind one interface, so tests run
 * commands in-process and read what they printed.
 */
import * as fs from "node:fs";

export interface CliIO {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (progress bars, colour). */
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): string;
}

export function nodeIO(): CliIO {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () => fs.readFileSync(0, "utf8"),
  };
}

/** A CliIO that records output, for tests. */
export function memoryIO(options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): CliIO & {
  out: string[];
  err: string[];
  readonly stdoutText: string;
  readonly stderrText: string;
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? { NO_COLOR: "1" },
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    readStdin: () => options.stdin ?? "",
    out,
    err,
    get stdoutText() {
      return out.join("");
    },
    get stderrText() {
      return err.join("");
    },
  };
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(io: CliIO, stream: "stdout" | "stderr"): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "0") return true;
  return stream === "stdout" ? io.stdoutIsTTY : io.stderrIsTTY;
}
