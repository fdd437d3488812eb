/** Realistic specs used by several grammar tests. */
export const TINY = `// tiny.peer
import "blocks.peer"
let d = 128
let n = [64^2, 128^2]          // value list: one variant per item

block mixer(width, heads = 4) {
  residual { norm rms; attention(heads: heads, head_dim: width / heads, causal) }
}

model tiny {
  vocab 256
  context 128
  embed tokens(dim: d)
  positions rope
  repeat 3 as i {
    mixer(width: d)
    residual {
      norm rms
      if i == 1 { peer(experts: n, heads: 4, topk: 8, key_dim: 64, act: gelu, query_norm: batch) }
      else { ffw(hidden: 4 * d, act: gelu, glu: false) }
    }
  }
  norm rms
  lm_head tied
}

train tiny {
  batch 16
  steps 300
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: 5%)
}

budget tiny {
  params <= 5M
  flops_per_token <= 20 MFLOP
  memory(train, fp32) <= 2 GiB on cpu
}
`;

/** The paper's PEER setting, in the syntax of grammar/README.md. */
export const PEER_C4 = `// peer-c4.peer — the paper's PEER setting
import "blocks.peer"                      // shared blocks, other files

let d = 1024
let sweep = [128^2, 256^2, 512^2, 1024^2]

model peer_c4 {
  vocab 32000
  context 2048
  embed tokens(dim: d)
  positions rope
  repeat 12 as i {
    residual { norm rms; attention(heads: 16, head_dim: 64, causal) }
    residual {
      norm rms
      if i == 6 { peer(experts: 1024^2, heads: 8, topk: 16, key_dim: 256, act: gelu, query_norm: batch) }
      else if i % 2 == 1 and not (i > 10) {
        moe(experts: 8, topk: 2, hidden: 4 * d)
      }
      else      { ffw(hidden: 4 * d, act: gelu) }
    }
  }
  norm rms
  lm_head tied
}

/* A small variant
   for smoke tests. */
model peer_small {
  vocab 256; context 128
  embed tokens(dim: 64)
  repeat 2 {
    residual {
      pkm(
        keys: 128^2,   // product keys
        topk: 8,
        value_dim: -1 + 65,
      )
    }
  }
  lm_head tied
}

train peer_c4 {
  batch 128
  tokens 2e19 / (6 * 1.2e9)
  optimizer adamw(lr: 3e-4, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0)
  schedule cosine(warmup: 1%, min_lr: 10%)
  data bytes("data/train.txt", val: 1%, name: "c4 \\u{2014} \\"en\\"")
}

budget peer_c4 {
  params        <= 2.5e9
  active_params <= 200M
  flops_per_token <= 1.2 GFLOP
  memory(train) <= 80 GiB on h100
}
`;
