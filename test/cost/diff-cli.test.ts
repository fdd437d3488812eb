/**
 * `peerc diff` through the CLI (issue 14, bug 11 and `--fail-on`): a missing
 * revision, a folder outside git, models paired across names, and limits.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { parseFailOn } from "../../compiler/diff/fail-on.js";
import { UsageError } from "../../diagnostics/errors.js";

const repo = path.resolve(import.meta.dirname, "../..");

async function run(args: string[], cwd = repo) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, stdio: "ignore", env: GIT_ENV });

const spec = (name: string, hidden: number) =>
  `model ${name} {\n  vocab 256\n  context 64\n  embed tokens(dim: 64)\n  residual {\n    norm rms\n    ffw(hidden: ${hidden})\n  }\n  lm_head tied\n}\n`;

function repoWith(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-diff-"));
  fs.writeFileSync(path.join(dir, "m.peer"), text);
  git(dir, "init", "-q");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "first");
  return dir;
}

describe("diff: revisions and repositories", () => {
  it("a revision that does not exist is named as such, not as a missing file", async () => {
    const dir = repoWith(spec("m", 256));
    const r = await run(["diff", "nosuchrev:m.peer", "m.peer"], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain("revision 'nosuchrev' does not exist");
    expect(r.err).not.toContain("does not exist at revision");
    // A real revision with a missing file still says that.
    const missing = await run(["diff", "HEAD:nope.peer", "m.peer"], dir);
    expect(missing.err).toContain("'nope.peer' does not exist at revision 'HEAD'");
  });

  it("outside a git repository: peerc's message only, no raw `fatal:` line from git", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-nogit-"));
    fs.writeFileSync(path.join(dir, "m.peer"), spec("m", 256));
    // Through a child process, because git writes straight to the process's stderr.
    const child = (() => {
      try {
        execFileSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "test/cost/peerc-cli.mjs"), "diff", "HEAD:m.peer", "m.peer"], {
          cwd: dir,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) },
        });
        return { status: 0, stderr: "" };
      } catch (e) {
        const err = e as { status: number; stderr: string };
        return { status: err.status, stderr: err.stderr };
      }
    })();
    expect(child.stderr).toContain("is not inside a git repository");
    expect(child.stderr).not.toMatch(/fatal:/);
    expect(child.status).toBe(2);
  });
});

describe("diff --model OLD=NEW", () => {
  it("pairs models with different names and shows their deltas", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-pair-"));
    fs.writeFileSync(path.join(dir, "a.peer"), spec("dense", 256));
    fs.writeFileSync(path.join(dir, "b.peer"), spec("wide", 512));
    const unpaired = await run(["diff", "a.peer", "b.peer"], dir);
    expect(unpaired.out).toMatch(/model wide: added/);
    const r = await run(["diff", "a.peer", "b.peer", "--model", "dense=wide"], dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^model dense → wide: changed$/m);
    expect(r.out).not.toMatch(/added|removed/);
    // ffw params 2·64·256 → 2·64·512: +32,768
    expect(r.out).toMatch(/params\s+\S+ \S+\s+\S+ \S+\s+\+32\.8 K/);
    const json = JSON.parse((await run(["diff", "a.peer", "b.peer", "--model", "dense=wide", "--format", "json"], dir)).out);
    expect(json.models).toHaveLength(1);
    expect(json.models[0]).toMatchObject({ name: "wide", renamedFrom: "dense", status: "changed" });
  });

  it("a name that is not there is a usage error naming the models that are", async () => {
    const r = await run(["diff", "specs/tiny.peer", "specs/tiny.peer", "--model", "tiny=nope"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("the new side has no model 'nope'");
    expect(r.err).toContain("its models: tiny");
  });
});

describe("diff --fail-on", () => {
  it("parses relative, absolute and value rules, with units and aliases", () => {
    expect(parseFailOn("params>+5%")).toMatchObject({ figure: "params", op: ">", kind: "relative", threshold: 0.05 });
    expect(parseFailOn("params < -10%")).toMatchObject({ op: "<", kind: "relative", threshold: -0.1 });
    expect(parseFailOn("flops_per_token>=+1M")).toMatchObject({ figure: "flops_per_token.forward", kind: "delta", threshold: 1e6 });
    expect(parseFailOn("memory_weights>+1 MiB")).toMatchObject({ figure: "weights_bytes.fp32", kind: "delta", threshold: 2 ** 20 });
    expect(parseFailOn("params>12M")).toMatchObject({ kind: "value", threshold: 12e6 });
    expect(() => parseFailOn("params>>5%")).toThrow(UsageError);
    expect(() => parseFailOn("parms>5%")).toThrow(/unknown figure 'parms'/);
    expect(() => parseFailOn("params>5 apples")).toThrow(/unknown unit 'apples'/);
  });

  it("exits 1 with a clear message when a change breaks a limit, 0 when every limit holds", async () => {
    const dir = repoWith(spec("m", 256));
    fs.writeFileSync(path.join(dir, "m.peer"), spec("m", 512));
    const r = await run(["diff", "HEAD:m.peer", "m.peer", "--fail-on", "params>+5%", "--fail-on", "params<-50%", "--fail-on", "active_params>+1M"], dir);
    expect(r.code).toBe(1);
    const old = 256 * 64 + 2 * 64 * 256 + 64;
    const now = 256 * 64 + 2 * 64 * 512 + 64;
    const pct = +(((now - old) / old) * 100).toPrecision(3);
    expect(r.err).toContain(`peerc diff: model m: params changed by +${pct}%`);
    expect(r.err).toContain("breaks --fail-on 'params>+5%'");
    expect(r.err).toContain("1 limit broken");
    expect(r.err).not.toContain("params<-50%");
    expect(r.out).toMatch(/✓ model m: active_params changed by .*within --fail-on 'active_params>\+1M'/);
    const ok = await run(["diff", "HEAD:m.peer", "m.peer", "--fail-on", `params>+${Math.ceil(pct)}%`], dir);
    expect(ok.code).toBe(0);
    const value = await run(["diff", "HEAD:m.peer", "m.peer", "--fail-on", "params>50K"], dir);
    expect(value.code).toBe(1);
    expect(value.err).toContain(`model m: params is`);
  });

  it("a malformed rule is a usage error before anything is read", async () => {
    const r = await run(["diff", "specs/tiny.peer", "specs/tiny.peer", "--fail-on", "params grows"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--fail-on 'params grows' is not FIGURE OP LIMIT");
  });
});
