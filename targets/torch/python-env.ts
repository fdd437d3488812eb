/** Finding a Python that imports torch: PEERC_PYTHON when set (only that one), else python3 on PATH, then /usr/bin/python3. */
import { spawnSync } from "node:child_process";

export interface TorchPython {
  readonly python: string;
  readonly torchVersion: string;
}

/** The first candidate that imports torch, or null with the reasons each one failed. */
export function findTorchPython(env: Readonly<Record<string, string | undefined>> = process.env): { found: TorchPython | null; tried: string[] } {
  const candidates = env.PEERC_PYTHON ? [env.PEERC_PYTHON] : ["python3", "/usr/bin/python3"];
  const tried: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) return { found: { python, torchVersion: r.stdout.trim() }, tried };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
  }
  return { found: null, tried };
}
