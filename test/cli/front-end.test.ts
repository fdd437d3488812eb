/**
 * Issue 14 through the CLI: one bad model does not block the good one
 * (bug 5), one file named through two paths (bug 2), fmt and invalid UTF-8
 * or a BOM/CRLF file (bug 4).
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";

async function run(args: string[], cwd: string) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

const MODEL = (name: string, vocab = 256) =>
  `model ${name} {\n  vocab ${vocab}\n  context 64\n  embed tokens(dim: 32)\n  residual {\n    norm rms\n    ffw(hidden: 64)\n  }\n  norm rms\n  lm_head tied\n}\n`;

function folder(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-fe-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe("bug 5: a bad model does not block the good one", () => {
  const dir = folder({ "two.peer": MODEL("good") + MODEL("bad", 0) });

  it("report prints the good model, names the left-out one, exits 1", async () => {
    const r = await run(["report", "two.peer"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E0210/);
    expect(r.err).toMatch(/left out: model `bad`/);
    expect(r.out).toMatch(/^model good /m);
    expect(r.out).not.toMatch(/model bad/);
  });

  it("report --format json holds the good model only", async () => {
    const r = await run(["report", "two.peer", "--format", "json"], dir);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out);
    expect(doc.models.map((m: { name: string }) => m.name)).toEqual(["good"]);
  });

  it("compile --model good writes the trainer; --model bad and no --model refuse", async () => {
    const ok = await run(["compile", "two.peer", "--model", "good", "-o", "out", "--no-typecheck"], dir);
    expect(ok.code).toBe(0);
    expect(fs.existsSync(path.join(dir, "out", "model.ts"))).toBe(true);
    const bad = await run(["compile", "two.peer", "--model", "bad", "-o", "out-bad", "--no-typecheck"], dir);
    expect(bad.code).toBe(1);
    expect(fs.existsSync(path.join(dir, "out-bad"))).toBe(false);
    const none = await run(["compile", "two.peer", "-o", "out-none", "--no-typecheck"], dir);
    expect(none.code).toBe(1);
    expect(fs.existsSync(path.join(dir, "out-none"))).toBe(false);
  });

  it("a file whose only model is bad still exits 1 with nothing on stdout", async () => {
    const d = folder({ "bad.peer": MODEL("bad", 0) });
    const r = await run(["report", "bad.peer"], d);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
  });
});

describe("bug 2: one file named twice", () => {
  it("`check a.peer /abs/a.peer` checks one file: no E0107, no E0501", async () => {
    const dir = fs.realpathSync(folder({ "a.peer": MODEL("m") + "train m {\n  batch 4\n  steps 1\n  optimizer adamw(lr: 1e-3)\n}\n" }));
    const r = await run(["check", "a.peer", path.join(dir, "a.peer")], dir);
    expect(r.err).not.toMatch(/E0107|E0501/);
    expect(r.err).toMatch(/checked 1 file: 1 model, no errors/);
    expect(r.code).toBe(0);
  });
});

describe("bug 4: fmt never changes bytes it did not mean to", () => {
  it("refuses a file with invalid UTF-8 (E0007) and leaves it byte for byte", async () => {
    const bytes = Buffer.concat([Buffer.from("model m {\n    vocab 256 // caf"), Buffer.from([0xe9]), Buffer.from("\n}\n")]);
    const dir = folder({ "x.peer": bytes });
    const r = await run(["fmt", "--write", "x.peer"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E0007.*not valid UTF-8/);
    expect(r.err).toMatch(/x\.peer:2:21/);
    expect(fs.readFileSync(path.join(dir, "x.peer")).equals(bytes)).toBe(true);
    const c = await run(["check", "x.peer"], dir);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/E0007/);
  });

  it("keeps a byte-order mark and CRLF line ends while fixing the layout", async () => {
    const dir = folder({ "w.peer": "\uFEFFmodel m {\r\n      vocab 256\r\n}\r\n" });
    const r = await run(["fmt", "--write", "w.peer"], dir);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, "w.peer"), "utf8")).toBe("\uFEFFmodel m {\r\n  vocab 256\r\n}\r\n");
    const again = await run(["fmt", "--check", "w.peer"], dir);
    expect(again.code).toBe(0);
  });
});
