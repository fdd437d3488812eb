import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { execFileSync } from "node:child_process";

const repo = path.resolve(import.meta.dirname, "../..");
const specs = fs.readdirSync(path.join(repo, "specs")).filter((f) => f.endsWith(".peer")).map((f) => `specs/${f}`);

async function run(args: string[], cwd = repo) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

function tempSpec(text: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-cli-"));
  const file = path.join(dir, "spec.peer");
  fs.writeFileSync(file, text);
  return { dir, file };
}

describe("peerc check", () => {
  it("accepts every shipped spec", async () => {
    const r = await run(["check", ...specs]);
    expect(r.err).toMatch(/no errors/);
    expect(r.code).toBe(0);
  });

  it("exits 1 with file:line:col, the source line and a caret for a broken spec", async () => {
    const { dir } = tempSpec(
      "model m {\n  vocab 256\n  context 64\n  embed tokens(dim: 64)\n  peer(experts: 1000, heads: 2, topk: 4, key_dim: 32)\n  lm_head tied\n}\n",
    );
    const r = await run(["check", "spec.peer"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[E\d{4}\]: .*perfect square/);
    expect(r.err).toContain("spec.peer:5:");
    expect(r.err).toContain("peer(experts: 1000");
    expect(r.err).toMatch(/\^+/);
    expect(r.err).toMatch(/31\^2 = 961|32\^2 = 1,024/);
  });

  it("prints github annotations and json on request", async () => {
    const { dir } = tempSpec("model m {\n  vocab 0\n}\n");
    const gh = await run(["check", "spec.peer", "--format", "github"], dir);
    expect(gh.code).toBe(1);
    expect(gh.out).toMatch(/^::error file=spec\.peer,line=\d+,col=\d+/m);
    const js = await run(["check", "spec.peer", "--format", "json"], dir);
    const doc = JSON.parse(js.out);
    expect(doc.schema).toBe("peerc.diagnostics/v1");
    expect(doc.diagnostics.length).toBeGreaterThan(0);
    expect(doc.diagnostics[0]).toMatchObject({ file: "spec.peer", severity: "error" });
  });

  it("treats a missing file as a usage error (exit 2), not a crash", async () => {
    const r = await run(["check", "does/not/exist.peer"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("peerc: no such file: does/not/exist.peer\n");
  });

  it("rejects unknown flags with exit 2", async () => {
    const r = await run(["check", "--frobnicate", "specs/tiny.peer"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--frobnicate'/);
  });

  it("prints help with examples for every command", async () => {
    for (const command of ["check", "fmt", "report", "diff", "compile", "train"]) {
      const r = await run([command, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: peerc ${command}`);
      expect(r.out).toContain("Examples:");
    }
  });
});

describe("peerc fmt", () => {
  it("--check passes on every shipped spec (they are kept formatted)", async () => {
    const r = await run(["fmt", "--check", ...specs]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  it("--write formats in place and is idempotent", async () => {
    const { dir, file } = tempSpec("let   d=64\nmodel m{vocab 256;context 64\n embed tokens( dim:d ) // width\n lm_head tied}\n");
    expect((await run(["fmt", "--check", "spec.peer"], dir)).code).toBe(1);
    expect((await run(["fmt", "--write", "spec.peer"], dir)).code).toBe(0);
    const once = fs.readFileSync(file, "utf8");
    expect(once).toContain("// width");
    expect((await run(["fmt", "--check", "spec.peer"], dir)).code).toBe(0);
    await run(["fmt", "--write", "spec.peer"], dir);
    expect(fs.readFileSync(file, "utf8")).toBe(once);
  });
});

describe("peerc report", () => {
  it("validates budgets: shipped specs pass", async () => {
    const r = await run(["report", ...specs, "--budget", "--format", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema).toBe("peerc.report/v1");
  });

  it("fails a broken budget with a diagnostic at the budget line naming value, limit and top contributors", async () => {
    const r = await run(["report", "test/fixtures/budget/broken.peer", "--budget"]);
    expect(r.code).toBe(1);
    const text = r.err;
    expect(text).toMatch(/test\/fixtures\/budget\/broken\.peer:20:\d+/);
    expect(text).toMatch(/params/);
    expect(text).toContain("10M");
    expect(text).toMatch(/peer/);
  });

  it("emits github annotations for a broken budget", async () => {
    const r = await run(["report", "test/fixtures/budget/broken.peer", "--budget", "--format", "github"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^::error file=test\/fixtures\/budget\/broken\.peer,line=20/m);
  });
});

describe("peerc report sweeps", () => {
  it("prints one row per variant and the tokens each gets within a FLOP budget", async () => {
    const r = await run(["report", "specs/ablation.peer", "--flops-budget", "6e18"]);
    expect(r.code).toBe(0);
    for (const n of ["16,384", "65,536", "262,144", "1,048,576"]) expect(r.out).toContain(n);
    expect(r.out).toMatch(/6e\+?18|6 EFLOP|6\.0+ EFLOP/);
  });

  it("rejects a malformed --flops-budget as a usage error", async () => {
    const r = await run(["report", "specs/ablation.peer", "--flops-budget", "lots"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--flops-budget takes a positive number");
  });
});

describe("peerc diff", () => {
  function git(cwd: string, ...args: string[]): void {
    execFileSync("git", args, { cwd, stdio: "ignore", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  }

  it("reads the old version through git (REV:path, imports resolved in that revision) and shows per-figure deltas", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-diff-"));
    fs.writeFileSync(path.join(dir, "width.peer"), "let d = 64\n");
    const spec = (hidden: string) =>
      `import "width.peer"\nmodel m {\n  vocab 256\n  context 64\n  embed tokens(dim: d)\n  residual {\n    norm rms\n    ffw(hidden: ${hidden})\n  }\n  lm_head tied\n}\n`;
    fs.writeFileSync(path.join(dir, "m.peer"), spec("4 * d"));
    git(dir, "init", "-q");
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "first");
    fs.writeFileSync(path.join(dir, "m.peer"), spec("8 * d"));
    fs.writeFileSync(path.join(dir, "width.peer"), "let d = 128\n");
    const r = await run(["diff", "HEAD:m.peer", "m.peer", "--format", "json"], dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const text = r.out;
    // Old: d 64, hidden 256 → ffw 2·64·256 = 32,768; new: d 128, hidden 1024 → 262,144.
    expect(text).toContain("32768");
    expect(text).toContain("262144");
  });

  it("names a missing revision path as a usage error", async () => {
    const r = await run(["diff", "HEAD:specs/nope.peer", "specs/tiny.peer"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("does not exist at revision 'HEAD'");
  });
});
