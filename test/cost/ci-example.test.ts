/**
 * The CI example of docs/ci.md, run as written: the `run:` steps of its
 * workflow block (read from the doc, not copied here) in a temporary git
 * repository with a base branch and a pull-request branch, under bash -eo
 * pipefail as GitHub runs them. `npx peerc` is this checkout's CLI from
 * source; `npm ci` and the `uses:` steps (checkout, setup-node) are what this
 * test does itself.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";

const repo = path.resolve(import.meta.dirname, "../..");
const bashAvailable = spawnSync("bash", ["-c", "true"]).status === 0 && spawnSync("git", ["--version"]).status === 0;

interface Step {
  readonly name: string;
  readonly run: string;
  readonly env: Record<string, string>;
}

/** The steps of the one ```yaml block of docs/ci.md that have a `run:` (a small reader for this workflow's shape). */
export function workflowSteps(markdown: string): Step[] {
  const block = /```yaml\n([\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error("docs/ci.md has no ```yaml block");
  const lines = block[1]!.split("\n");
  const steps: { name: string; run: string | null; env: Record<string, string> }[] = [];
  let inSteps = false;
  let stepIndent = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*steps:\s*$/.test(line)) {
      inSteps = true;
      continue;
    }
    if (!inSteps || line.trim() === "") continue;
    const indent = line.length - line.trimStart().length;
    const item = /^(\s*)- (.*)$/.exec(line);
    if (item && (stepIndent === -1 || item[1]!.length === stepIndent)) {
      stepIndent = item[1]!.length;
      steps.push({ name: "", run: null, env: {} });
    }
    const step = steps[steps.length - 1]!;
    const body = line.trim().replace(/^- /, "");
    const key = /^(name|run|env):\s*(.*)$/.exec(body);
    if (!key) continue;
    if (key[1] === "name") step.name = key[2]!;
    else if (key[1] === "run" && key[2] !== "|") step.run = key[2]!;
    else if (key[1] === "run") {
      const out: string[] = [];
      let j = i + 1;
      const first = lines[j] ?? "";
      const blockIndent = first.length - first.trimStart().length;
      for (; j < lines.length && (lines[j]!.trim() === "" || lines[j]!.length - lines[j]!.trimStart().length >= blockIndent); j++) {
        out.push(lines[j]!.slice(blockIndent));
      }
      step.run = out.join("\n").trimEnd() + "\n";
      i = j - 1;
    } else {
      for (let j = i + 1; j < lines.length; j++) {
        const m = /^(\s*)([A-Z_]+):\s*(.*)$/.exec(lines[j]!);
        if (!m || m[1]!.length <= indent) break;
        step.env[m[2]!] = m[3]!;
        i = j;
      }
    }
  }
  return steps.filter((s): s is Step => s.run !== null).map((s) => ({ ...s, name: s.name || s.run.trim() }));
}

const GIT_ENV = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

const spec = (hidden: number) => `// a small model with a budget
model m {
  vocab 256
  context 64
  embed tokens(dim: 64)
  residual {
    norm rms
    ffw(hidden: ${hidden}, act: gelu)
  }
  norm rms
  lm_head tied
}

budget m {
  params <= 1M
}
`;

/** A repository whose `main` has specs/m.peer and specs/other.peer, and a checked-out PR branch that changes m.peer. */
function pullRequest(hiddenBefore: number, hiddenAfter: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-ci-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "ignore", env: { ...process.env, ...GIT_ENV } });
  fs.mkdirSync(path.join(dir, "specs"));
  fs.writeFileSync(path.join(dir, "specs/m.peer"), spec(hiddenBefore));
  fs.copyFileSync(path.join(repo, "specs/tiny.peer"), path.join(dir, "specs/other.peer"));
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-qm", "base");
  // What actions/checkout with fetch-depth 0 leaves: the base branch as a remote-tracking ref.
  git("update-ref", "refs/remotes/origin/main", "main");
  git("checkout", "-qb", "pr");
  fs.writeFileSync(path.join(dir, "specs/m.peer"), spec(hiddenAfter));
  git("commit", "-qam", "change m");
  return dir;
}

/** Runs every `run:` step but `npm ci`, as GitHub does (bash -eo pipefail), with `npx peerc` → this checkout. */
function runWorkflow(dir: string): { name: string; status: number | null; stdout: string; stderr: string }[] {
  const steps = workflowSteps(fs.readFileSync(path.join(repo, "docs/ci.md"), "utf8"));
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-ci-bin-"));
  fs.writeFileSync(
    path.join(bin, "npx"),
    `#!/bin/sh\n[ "$1" = peerc ] || { echo "npx $1: not in this test" >&2; exit 127; }\nshift\nexec "${path.join(repo, "node_modules/.bin/tsx")}" "${path.join(repo, "test/cost/peerc-cli.mjs")}" "$@"\n`,
    { mode: 0o755 },
  );
  const summary = path.join(dir, "summary.md");
  fs.writeFileSync(summary, "");
  const out = [];
  for (const step of steps) {
    if (step.run.trim() === "npm ci") continue;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env)) env[k] = v.replace(/\$\{\{\s*github\.base_ref\s*\}\}/g, "main");
    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, ...GIT_ENV, ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary, NO_COLOR: "1" },
    });
    out.push({ name: step.name, status: r.status, stdout: r.stdout, stderr: r.stderr });
  }
  return out;
}

describe.skipIf(!bashAvailable)("the CI example of docs/ci.md (needs bash and git)", () => {
  it("has the steps the doc promises: check, budgets, and a diff into the job summary", () => {
    const steps = workflowSteps(fs.readFileSync(path.join(repo, "docs/ci.md"), "utf8"));
    expect(steps.map((s) => s.name)).toEqual(["npm ci", "check", "budgets", "diff against the base branch"]);
    expect(steps[1]!.run).toMatch(/npx peerc check specs\/\*\.peer --format github/);
    expect(steps[2]!.run).toMatch(/npx peerc report specs\/\*\.peer --budget --format github/);
    expect(steps[3]!.run).toContain("GITHUB_STEP_SUMMARY");
    expect(steps[3]!.env.BASE).toBe("origin/${{ github.base_ref }}");
  });

  it("fails a pull request that grows a model past --fail-on, with the diff in the job summary", () => {
    const dir = pullRequest(256, 512);
    const [check, budgets, diff] = runWorkflow(dir);
    expect(check!.status, check!.stderr).toBe(0);
    expect(budgets!.status, budgets!.stderr).toBe(0);
    expect(budgets!.stdout).toMatch(/^::notice file=specs\/m\.peer,line=2,title=peerc report%3A m::/m);
    expect(diff!.status).toBe(1);
    expect(diff!.stderr).toMatch(/peerc diff: model m: params changed by \+[\d.]+% .*breaks --fail-on 'params>\+5%'/);
    const summary = fs.readFileSync(path.join(dir, "summary.md"), "utf8");
    expect(summary).toContain("## peerc diff `origin/main:specs/m.peer` → `specs/m.peer`");
    expect(summary).toMatch(/^\| params \| /m);
    expect(summary).toContain("❌ model m: params changed by");
    // The unchanged spec is not diffed.
    expect(summary).not.toContain("specs/other.peer");
  });

  it("passes a small change, and a broken budget fails the budgets step at its line", () => {
    const small = pullRequest(256, 260);
    const steps = runWorkflow(small);
    expect(steps.map((s) => s.status)).toEqual([0, 0, 0]);
    expect(fs.readFileSync(path.join(small, "summary.md"), "utf8")).toContain("✅ model m: params changed by");
    const big = pullRequest(256, 8192);
    const [, budgets] = runWorkflow(big);
    expect(budgets!.status).toBe(1);
    expect(budgets!.stdout).toMatch(/^::error file=specs\/m\.peer,line=15,.*title=E0601::params is/m);
  });
});
