/** Runs a trainer (node or python) in the foreground and resolves to its exit code. */
import { spawn } from "node:child_process";

/**
 * Ctrl-C reaches the child through the terminal; the parent only waits for it.
 * A child ended by a signal exits as a shell would report it: 128 + the signal's number.
 */
export function runForeground(command: string, args: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, stdio: "inherit" });
    const ignore = () => undefined;
    process.on("SIGINT", ignore);
    child.on("error", (error) => {
      process.off("SIGINT", ignore);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      process.off("SIGINT", ignore);
      resolve(code ?? (signal ? 128 + signalNumber(signal) : 0));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return table[signal] ?? 1;
}
