/**
 * `peerc init [NAME]`: writes NAME.peer (default `starter.peer`), a commented
 * starter spec: a small dense baseline, the same model with a PEER layer in
 * its middle block, a train section for each, and budgets. It checks clean
 * (a test runs it through the checker and the budget gate). An existing file
 * is never overwritten.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliIO } from "../io.js";
import { EXIT_OK, UsageError } from "../../../diagnostics/errors.js";

export const STARTER_SPEC = `// A starter spec written by \`peerc init\`. Two models on one backbone: a dense
// baseline, and the same model with the middle block's feed-forward replaced by
// a PEER layer of 64^2 = 4,096 single-neuron experts. Both train on a few CPU
// cores in minutes on the built-in byte corpus.
//
//   peerc check FILE                  diagnostics with file:line:col
//   peerc report FILE --budget        parameters, FLOPs, memory; exit 1 over budget
//   peerc show FILE --model peer      every resolved value and where it came from
//   peerc train FILE --model peer     compile a trainer and run it
//   peerc explain E0301               what a diagnostic code means, with a fix
//
// The language: docs/language.md. Every number is checked at compile time.

let d = 128        // model width (d_model)
let depth = 4      // transformer blocks
let middle = 2     // the block whose feed-forward the PEER model replaces

// One attention sublayer, pre-norm, in a residual.
block mixer(width, heads = 4) {
  residual {
    norm rms
    attention(heads: heads, head_dim: width / heads, causal)
  }
}

// The dense feed-forward sublayer: 4x expansion.
block dense_ffw(width) {
  residual {
    norm rms
    ffw(hidden: 4 * width, act: gelu)
  }
}

model dense {
  vocab 256        // bytes
  context 128      // tokens per sequence
  embed tokens(dim: d)
  positions rope
  repeat depth {
    mixer(width: d)
    dense_ffw(width: d)
  }
  norm rms
  lm_head tied
}

model peer {
  vocab 256
  context 128
  embed tokens(dim: d)
  positions rope
  repeat depth as i {
    mixer(width: d)
    if i == middle {
      residual {
        norm rms
        // 64^2 experts (a perfect square: product keys), 4 heads x top-8 = 32 active per token.
        peer(experts: 64^2, heads: 4, topk: 8, key_dim: 64, act: gelu, query_norm: batch)
      }
    } else {
      dense_ffw(width: d)
    }
  }
  norm rms
  lm_head tied
}

// Training: 16 sequences per step for 400 steps; leave \`data\` out for the
// built-in corpus, or name a UTF-8 text file: data bytes("train.txt", val: 5%).
train dense {
  batch 16
  steps 400
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: 5%)
}

train peer {
  batch 16
  steps 400
  // Expert rows are updated sparsely: they get their own, larger learning rate.
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0, expert_lr: 1e-2)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: 5%)
}

// Budgets: \`peerc report FILE --budget\` exits 1 when a limit breaks (for CI).
budget dense {
  params <= 2M
  flops_per_token <= 5 MFLOP
}

budget peer {
  params <= 3M
  active_params <= 1M
  memory(train, fp32) <= 1 GiB on cpu
}
`;

export async function initCommand(io: CliIO, name: string | undefined): Promise<number> {
  const given = name ?? "starter";
  if (given.length === 0 || given.includes("\0")) throw new UsageError("the name of the spec is empty", "e.g. `peerc init my-model`");
  const file = given.endsWith(".peer") ? given : `${given}.peer`;
  const full = path.resolve(io.cwd, file);
  if (fs.existsSync(full)) {
    throw new UsageError(`${file} already exists; peerc init never overwrites a file`, "pick another name, e.g. `peerc init my-model`");
  }
  const dir = path.dirname(full);
  if (!fs.existsSync(dir)) throw new UsageError(`no such folder: ${path.dirname(file)}`, "create it first, or name a file in an existing folder");
  try {
    fs.writeFileSync(full, STARTER_SPEC, { flag: "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`${file} already exists; peerc init never overwrites a file`);
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
  io.stderr(`wrote ${file}: models \`dense\` and \`peer\`, with train sections and budgets\n`);
  io.stderr(`next: peerc check ${file} && peerc report ${file} --budget\n`);
  return EXIT_OK;
}
