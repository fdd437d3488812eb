/**
 * Issue 14, bug 3: under a terminal the progress bar redraws as steps finish
 * and the validation lines appear above it. The trainer runs as a child
 * process under a real pseudo-terminal (util-linux `script`), and its output
 * is replayed through a minimal terminal model (carriage return + erase line,
 * newline) to get the screen a user sees.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

/** The screen's lines after replaying `text`: "\r\x1b[2K" erases the current line, "\n" ends it. */
function screen(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const piece of text.replace(/\r\n/g, "\n").split(/(\r\x1b\[2K|\n)/)) {
    if (piece === "\n") {
      lines.push(current);
      current = "";
    } else if (piece === "\r\x1b[2K") current = "";
    else current += piece;
  }
  if (current !== "") lines.push(current);
  return lines;
}

describe("progress on a terminal", () => {
  it.skipIf(!hasScript)("redraws the bar every step and prints each evaluation above it (needs util-linux `script`)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-tty-"));
    const corpus = path.join(dir, "corpus.txt");
    fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(200));
    const node = JSON.stringify(process.execPath);
    const fixture = JSON.stringify(path.join(HERE, "fixtures", "tty-train.ts"));
    const command = `${node} --import tsx ${fixture} --data ${JSON.stringify(corpus)} --backend wasm --out ${JSON.stringify(path.join(dir, "run"))}`;
    const r = spawnSync("script", ["-qec", command, "/dev/null"], {
      cwd: ROOT,
      encoding: "utf8",
      input: "",
      env: { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache"), COLUMNS: "200" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const raw = r.stdout;
    // Every step drew its own frame, as it finished (not only the last one).
    const frames = [...raw.matchAll(/ (\d+)\/20 \| loss /g)].map((m) => Number(m[1]));
    for (let step = 1; step <= 20; step++) expect(frames).toContain(step);
    // Frames come in step order: the bar moves forward.
    expect(frames.filter((s, i) => i > 0 && s < frames[i - 1]!)).toEqual([]);

    const lines = screen(raw);
    const evals = lines.filter((l) => /^step \d+: val loss \d+\.\d{4}, \d+\.\d{4} bits\/byte$/.test(l));
    expect(evals.map((l) => Number(l.split(":")[0]!.slice(5)))).toEqual([5, 10, 15, 20]);
    // What stays on screen: the evaluations, then exactly one bar (the final frame), then the summary.
    const bars = lines.filter((l) => / \d+\/20 \| loss /.test(l));
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatch(/^█{24} 20\/20 \| loss \d+\.\d{4} \| /);
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/^step 20: val loss/)).toBeLessThan(at(/ 20\/20 \| loss /));
    expect(at(/ 20\/20 \| loss /)).toBeLessThan(at(/^done: 20 steps/));
  });
});
