"""PyTorch CPU trainer for bench/vs-torch.ts: the same byte-level LMs as the
peerc specs that bench writes (pre-norm blocks: RMSNorm, causal attention with
RoPE, then a dense GELU FFW or a PEER layer; tied head), trained with AdamW
(dense) + row-sparse Adam on the expert tables (nn.Embedding(sparse=True) and
SparseAdam, like peerc's lazy AdamW minus the table decay), global-norm clip.

  /usr/bin/python3 bench/torch_lm.py '{"d":256,"blocks":4,"heads":4,"ctx":128,
      "batch":16,"ffw":{"kind":"dense","hidden":1024},"steps":5,"threads":1}'

Prints one line: RESULT {"step_s": [...], "probe_gflops": ..., "threads": ...}.
Data: a fixed random byte stream (speed only; no quality is measured).
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.g = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.g


def rope(x, cos, sin):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), -1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, d, heads, head_dim):
        super().__init__()
        self.h, self.hd = heads, head_dim
        self.qkv = nn.Linear(d, 3 * heads * head_dim, bias=False)
        self.o = nn.Linear(heads * head_dim, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.hd).permute(2, 0, 3, 1, 4)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        y = att.masked_fill(mask, float("-inf")).softmax(-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, self.h * self.hd))


class Ffw(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.up, self.down = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        return self.down(F.gelu(self.up(x)))


class Peer(nn.Module):
    """Product-key retrieval (shared sub-keys, BN query) over N = n² single-neuron experts."""

    def __init__(self, d, experts, heads, topk, key_dim):
        super().__init__()
        self.n = int(round(math.sqrt(experts)))
        self.h, self.k, self.kd = heads, topk, key_dim
        self.query = nn.Linear(d, heads * key_dim, bias=False)
        self.bn = nn.BatchNorm1d(heads * key_dim)
        self.keys1 = nn.Parameter(torch.randn(self.n, key_dim // 2) / math.sqrt(key_dim // 2))
        self.keys2 = nn.Parameter(torch.randn(self.n, key_dim // 2) / math.sqrt(key_dim // 2))
        self.u = nn.Embedding(experts, d, sparse=True)
        self.v = nn.Embedding(experts, d, sparse=True)
        nn.init.normal_(self.u.weight, std=1 / math.sqrt(d))
        nn.init.normal_(self.v.weight, std=1 / math.sqrt(heads * topk))

    def forward(self, x):
        b, t, d = x.shape
        xs = x.reshape(b * t, d)
        q = self.bn(self.query(xs)).view(b * t, self.h, self.kd)
        half = self.kd // 2
        s1, i1 = (q[..., :half] @ self.keys1.t()).topk(self.k, -1)
        s2, i2 = (q[..., half:] @ self.keys2.t()).topk(self.k, -1)
        cand = (s1.unsqueeze(-1) + s2.unsqueeze(-2)).flatten(-2)
        ids = (i1.unsqueeze(-1) * self.n + i2.unsqueeze(-2)).flatten(-2)
        scores, pos = cand.topk(self.k, -1)
        ids = ids.gather(-1, pos).flatten(1)  # [bt, h·k]
        g = scores.softmax(-1).flatten(1)
        u, v = self.u(ids), self.v(ids)  # [bt, h·k, d]
        a = F.gelu(torch.einsum("nsd,nd->ns", u, xs)) * g
        return torch.einsum("ns,nsd->nd", a, v).view(b, t, d)


class Block(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        d = cfg["d"]
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.att = Attention(d, cfg["heads"], cfg.get("head_dim", d // cfg["heads"]))
        ffw = cfg["ffw"]
        peer_here = ffw["kind"] == "peer" and (ffw.get("blocks") is None or layer in ffw["blocks"])
        if peer_here:
            self.ffw = Peer(d, ffw["experts"], ffw["heads"], ffw["topk"], ffw["key_dim"])
        else:
            self.ffw = Ffw(d, ffw.get("hidden", 4 * d))

    def forward(self, x, cos, sin):
        x = x + self.att(self.n1(x), cos, sin)
        return x + self.ffw(self.n2(x))


class LM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d"]
        self.emb = nn.Embedding(256, d)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg["blocks"]))
        self.norm = RMSNorm(d)
        hd = cfg.get("head_dim", d // cfg["heads"])
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.arange(cfg["ctx"]).float().unsqueeze(1) * inv
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())

    def forward(self, ids):
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        return self.norm(x) @ self.emb.weight.t()  # tied head


def probe(threads):
    """Best of 5 sgemm 1024² (GFLOP/s) on this thread count."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(6):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024**3 / best / 1e9


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(1)
    model = LM(cfg)
    sparse = [p for n, p in model.named_parameters() if n.endswith(".u.weight") or n.endswith(".v.weight")]
    sparse_ids = {id(p) for p in sparse}
    dense = [p for p in model.parameters() if id(p) not in sparse_ids]
    opt = torch.optim.AdamW(dense, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    sparse_opt = torch.optim.SparseAdam(sparse, lr=1e-2, betas=(0.9, 0.95)) if sparse else None
    gen = torch.Generator().manual_seed(2)
    stream = torch.randint(0, 256, (1 << 20,), generator=gen)
    b, t = cfg["batch"], cfg["ctx"]
    times = []
    for step in range(cfg["steps"] + 1):
        starts = torch.randint(0, stream.numel() - t - 1, (b,), generator=gen)
        idx = starts.unsqueeze(1) + torch.arange(t + 1)
        window = stream[idx]
        t0 = time.perf_counter()
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 256), window[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        if sparse_opt:
            sparse_opt.zero_grad(set_to_none=True)
        loss.backward()
        sq = sum(p.grad.pow(2).sum() for p in dense if p.grad is not None)
        for p in sparse:
            if p.grad is not None:
                p.grad = p.grad.coalesce()
                sq = sq + p.grad._values().pow(2).sum()
        norm = float(sq) ** 0.5
        if norm > 1.0:
            for p in dense + sparse:
                if p.grad is not None:
                    p.grad.mul_(1.0 / norm)
        opt.step()
        if sparse_opt:
            sparse_opt.step()
        if step > 0:
            times.append(time.perf_counter() - t0)
    print("RESULT " + json.dumps({"step_s": times, "probe_gflops": probe(cfg["threads"]), "threads": torch.get_num_threads(), "loss": float(loss)}))


if __name__ == "__main__":
    main()
