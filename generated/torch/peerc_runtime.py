# peerc torch runtime: copied verbatim next to every model.py that
# `peerc compile --target torch` writes (targets/torch/python/peerc_runtime.py in
# the peerc repository). Shared by all emitted models: the math of the
# TypeScript runtime (runtime/layers, runtime/experts), safetensors in pure
# Python, checkpoints in the TypeScript trainer's format, data batches with the
# same xoshiro128** stream, AdamW with lazy row-sparse expert updates, the
# schedule, JSONL metrics and the training loop (plain or torchrun / gloo / NCCL).
# Runs on PyTorch 1.13 (Debian's python3-torch) and 2.x.
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- activations

SQRT_HALF = math.sqrt(0.5)
GELU_TANH_C = math.sqrt(2.0 / math.pi)


def activate(x, act):
    """The activations of runtime/layers/ops.ts: gelu is exact (erf), gelu_tanh the tanh form."""
    if act == "relu":
        return torch.relu(x)
    if act == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x * SQRT_HALF))
    if act == "gelu_tanh":
        return 0.5 * x * (1.0 + torch.tanh(GELU_TANH_C * (x + 0.044715 * x * x * x)))
    if act == "silu":
        return x * torch.sigmoid(x)
    if act == "sigmoid":
        return torch.sigmoid(x)
    if act == "tanh":
        return torch.tanh(x)
    if act == "identity":
        return x
    raise ValueError("unknown activation " + repr(act))


def linear(x, w, b=None):
    """x [n, in] @ w [in, out] (+ b): weights are stored [in, out] as in the safetensors files."""
    y = x @ w
    return y + b if b is not None else y


def rms_norm(x, gain, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * gain


def layer_norm(x, gain, bias, eps):
    mean = x.mean(-1, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdim=True)  # population variance
    y = centred * torch.rsqrt(var + eps) * gain
    return y + bias if bias is not None else y


# ---------------------------------------------------------------- attention

_ROPE = {}


def rope_tables(seq_len, head_dim, base, device):
    key = (seq_len, head_dim, base, str(device))
    if key not in _ROPE:
        half = head_dim // 2
        t = torch.arange(seq_len, dtype=torch.float64)[:, None]
        i = torch.arange(half, dtype=torch.float64)[None, :]
        angles = t * torch.pow(torch.tensor(float(base), dtype=torch.float64), -2.0 * i / head_dim)
        shape = (1, seq_len, 1, half)
        _ROPE[key] = (torch.cos(angles).float().reshape(shape).to(device), torch.sin(angles).float().reshape(shape).to(device))
    return _ROPE[key]


def apply_rope(x, base):
    """Rotate-half RoPE on x [B, T, heads, hd]; positions restart at 0 in every sequence."""
    _, seq_len, _, hd = x.shape
    cos, sin = rope_tables(seq_len, hd, base, x.device)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attend(q, k, v, batch, seq_len, heads, kv_heads, head_dim, causal, rope_base):
    """q [B·T, H·hd], k, v [B·T, KV·hd] -> [B·T, H·hd]; kv head of h = h // (H / KV); mask adds -1e9."""
    q4 = q.reshape(batch, seq_len, heads, head_dim)
    k4 = k.reshape(batch, seq_len, kv_heads, head_dim)
    v4 = v.reshape(batch, seq_len, kv_heads, head_dim)
    if rope_base is not None:
        q4 = apply_rope(q4, rope_base)
        k4 = apply_rope(k4, rope_base)
    qh, kh, vh = q4.transpose(1, 2), k4.transpose(1, 2), v4.transpose(1, 2)
    if kv_heads != heads:
        group = heads // kv_heads
        kh = kh.repeat_interleave(group, dim=1)
        vh = vh.repeat_interleave(group, dim=1)
    scores = (qh @ kh.transpose(-1, -2)) * (1.0 / math.sqrt(head_dim))
    if causal:
        mask = torch.triu(torch.full((seq_len, seq_len), -1e9, device=q.device), diagonal=1)
        scores = scores + mask
    out = torch.softmax(scores, dim=-1) @ vh
    return out.transpose(1, 2).reshape(batch * seq_len, heads * head_dim)


# ---------------------------------------------------------------- product keys

BN_MOMENTUM = 0.1  # runtime/experts/query-net.ts: weight of the newest batch
NORM_EPS = 1e-5
DEFAULT_BN_RECALIBRATE = 4  # ir/defaults.ts: batches averaged into the statistics before each evaluation
_recompute_weight = None  # 1/i while statistics are recomputed (recalibrate_query_statistics), else None


def recalibration_seed(seed, step):
    """runtime/train/recalibrate.ts recalibrationSeed: the stream of the recalibration batches at `step`."""
    return (_imul((int(seed) ^ 0x2545F491) & M32, 0x9E3779B1) + _imul(step + 1, 0x6A09E667)) & M32


def recalibrate_query_statistics(forward, batches):
    """Query BatchNorm running stats := the plain mean of the train-mode statistics of `batches` (input tensors).

    runtime/experts/query-net.ts recomputeQueryStatistics: pass i updates with weight 1/(i+1); no gradient,
    no optimizer step, expert tables record nothing (their gather records only with gradients enabled).
    """
    global _recompute_weight
    try:
        with torch.no_grad():
            for i, inputs in enumerate(batches):
                _recompute_weight = 1.0 / (i + 1)
                forward(inputs, True)
    finally:
        _recompute_weight = None


def stable_topk(x, k):
    """Top-k along the last axis, ties to the lower index (a stable descending sort)."""
    values, index = torch.sort(x, dim=-1, descending=True, stable=True)
    return values[..., :k], index[..., :k]


def product_key_topk(s1, s2, sub_keys, sub_topk, topk):
    """Exact top-k over the N = sub_keys² sums s1[i] + s2[j] from the top-k' of each half.

    s1, s2: [R, sub_keys] (no gradient). Returns (first, second) sub-key indices [R, topk],
    best first; ties go to the lower sub-key index, then to the lower expert id. Sums are
    taken in float64 like runtime/experts/product-keys.ts. Only 2·√N scores per row exist.
    """
    rows = s1.shape[0]
    v1, i1 = stable_topk(s1, sub_topk)
    v2, i2 = stable_topk(s2, sub_topk)
    sums = (v1.double()[:, :, None] + v2.double()[:, None, :]).reshape(rows, -1)
    ids = (i1[:, :, None] * sub_keys + i2[:, None, :]).reshape(rows, -1)
    order = torch.argsort(ids, dim=1)  # ids are distinct within a row
    ids = ids.gather(1, order)
    sums = sums.gather(1, order)
    _, best = torch.sort(sums, dim=1, descending=True, stable=True)
    ids = ids.gather(1, best[:, :topk])
    return torch.div(ids, sub_keys, rounding_mode="floor"), ids % sub_keys


def query_batch_norm(q, gamma, beta, running_mean, running_var, training, momentum=BN_MOMENTUM):
    """BatchNorm over all tokens of the pass (population variance); running stats with `momentum` (the spec's
    bn_momentum, default BN_MOMENTUM) or, while recomputing, 1/i; unbiased var."""
    if training:
        mean = q.mean(0)
        centred = q - mean
        var = (centred * centred).mean(0)
        n = q.shape[0]
        with torch.no_grad():
            unbiased = n / (n - 1) if n > 1 else 1.0
            m = _recompute_weight if _recompute_weight is not None else momentum
            running_mean.mul_(1 - m).add_(mean.detach() * m)
            running_var.mul_(1 - m).add_(var.detach() * (m * unbiased))
        normed = centred * torch.rsqrt(var + NORM_EPS)
    else:
        normed = (q - running_mean) * torch.rsqrt(running_var + NORM_EPS)
    return normed * gamma + beta


def query_layer_norm(q, gamma, beta, heads, key_dim):
    """LayerNorm of each head's key_dim values (population variance), then gamma, beta over h·dk."""
    rows = q.reshape(-1, key_dim)
    mean = rows.mean(1, keepdim=True)
    centred = rows - mean
    var = (centred * centred).mean(1, keepdim=True)
    return (centred * torch.rsqrt(var + NORM_EPS)).reshape(q.shape) * gamma + beta


def sub_key_scores(q, keys, heads, key_dim):
    """q [T, h·dk]; keys: [(K1, K2)] shared or one pair per head, each [dk/2, √N].

    Returns the two [T·h, √N] score matrices, row t·h + head.
    """
    half = key_dim // 2
    tokens = q.shape[0]
    q4 = q.reshape(tokens, heads, 2, half)
    if len(keys) == 1:
        k1, k2 = keys[0]
        rows = q4.reshape(tokens * heads, 2, half)
        return rows[:, 0] @ k1, rows[:, 1] @ k2
    k1 = torch.stack([k[0] for k in keys])  # [h, half, √N]
    k2 = torch.stack([k[1] for k in keys])
    s1 = torch.einsum("thd,hdn->thn", q4[:, :, 0], k1).reshape(tokens * heads, -1)
    s2 = torch.einsum("thd,hdn->thn", q4[:, :, 1], k2).reshape(tokens * heads, -1)
    return s1, s2


def route(q, keys, heads, key_dim, sub_keys, sub_topk, topk, scores, ctx=None, path=None, num_experts=None):
    """Product-key routing: returns ids [T, h·k] and gates [T, h·k] (token, then head, then rank)."""
    tokens = q.shape[0]
    s1, s2 = sub_key_scores(q, keys, heads, key_dim)
    with torch.no_grad():
        first, second = product_key_topk(s1.detach(), s2.detach(), sub_keys, sub_topk, topk)
    selected = s1.gather(1, first) + s2.gather(1, second)  # differentiable [T·h, k]
    weights = torch.softmax(selected, dim=1) if scores == "softmax" else torch.sigmoid(selected)
    ids = (first * sub_keys + second).reshape(tokens, heads * topk)
    gates = weights.reshape(tokens, heads * topk)
    if ctx is not None and ctx.record_routing is not None:
        ctx.record_routing(path, num_experts, ids.detach().reshape(-1), gates.detach().reshape(-1))
    return ids, gates


class ExpertTable:
    """A row-sparse table (PEER u / v, PKM values): plain tensors outside autograd.

    The forward gathers the distinct requested rows into a leaf tensor; after the
    backward its gradient is kept per row, so no dense N × d gradient or moment
    traffic happens. `step` is lazy AdamW on the touched rows (runtime/experts/lazy-adamw.ts).
    With a `shard` (rank, world) the table holds only rows r with r % world == rank and
    gathers the others from their owners with all_to_all (row-wise sharding).
    """

    def __init__(self, name, rows, cols):
        self.name = name
        self.rows = rows
        self.cols = cols
        self.table = torch.zeros(rows, cols)
        self.m = torch.zeros(rows, cols)
        self.v = torch.zeros(rows, cols)
        self.last_step = torch.zeros(rows, dtype=torch.int64)
        self.pending = []  # (unique ids, leaf rows) of this step's forward passes
        self.grad_ids = None
        self.grad_rows = None
        self.shard = None  # (rank, world) when row-sharded

    @property
    def device(self):
        return self.table.device

    def to_device(self, device):
        """Moves the table and its optimizer state (CPU by default; `train.py` puts them on the GPU under CUDA)."""
        self.table, self.m, self.v, self.last_step = (t.to(device) for t in (self.table, self.m, self.v, self.last_step))

    def gather(self, ids, training):
        """Rows ids [...] -> [..., cols] on ids' device, wherever the table lives."""
        flat = ids.reshape(-1).to(self.device)
        if not training or not torch.is_grad_enabled():
            return self._fetch(flat).reshape(*ids.shape, self.cols).to(ids.device)
        unique, inverse = torch.unique(flat, return_inverse=True)
        leaf = self._fetch(unique).clone().to(ids.device).requires_grad_(True)
        self.pending.append((unique, leaf))
        return leaf[inverse.to(ids.device)].reshape(*ids.shape, self.cols)

    def _fetch(self, ids):
        if self.shard is None:
            return self.table[ids]
        return sharded_fetch(self, ids)

    def collect_grads(self):
        """Merges this step's row gradients (summing repeated rows) into grad_ids / grad_rows."""
        ids = [u for u, leaf in self.pending]
        grads = [(leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)).to(self.device, torch.float32) for u, leaf in self.pending]
        self.pending = []
        if self.grad_ids is not None:
            ids.insert(0, self.grad_ids)
            grads.insert(0, self.grad_rows)
        if not ids:
            return
        all_ids = torch.cat(ids)
        all_grads = torch.cat(grads)
        unique, inverse = torch.unique(all_ids, return_inverse=True)
        summed = torch.zeros(unique.shape[0], self.cols, dtype=all_grads.dtype, device=self.device)
        summed.index_add_(0, inverse, all_grads)
        self.grad_ids, self.grad_rows = unique, summed

    def grad_squared_norm(self):
        return 0.0 if self.grad_rows is None else float((self.grad_rows.double() ** 2).sum())

    def scale_grads(self, factor):
        if self.grad_rows is not None:
            self.grad_rows.mul_(factor)

    def zero_grads(self):
        self.pending = []
        self.grad_ids = None
        self.grad_rows = None

    def step(self, lr, beta1, beta2, eps, weight_decay, step):
        if self.grad_ids is None:
            return
        if self.shard is not None:
            sharded_step(self, lr, beta1, beta2, eps, weight_decay, step)
            return
        apply_lazy_adamw(self, self.grad_ids, self.grad_rows, lr, beta1, beta2, eps, weight_decay, step)
        self.zero_grads()


def apply_lazy_adamw(table, rows, grad, lr, beta1, beta2, eps, weight_decay, step, local=None):
    """Lazy AdamW on rows (global ids); `local` are their indices in table.table (default: rows)."""
    at = rows if local is None else local
    g = grad.double()
    skipped = (step - table.last_step[at] - 1).clamp(min=0).double()
    decay = torch.ones_like(skipped) if weight_decay == 0 else torch.pow(torch.full_like(skipped, 1 - lr * weight_decay), skipped + 1)
    m = beta1 * table.m[at].double() + (1 - beta1) * g
    v = beta2 * table.v[at].double() + (1 - beta2) * g * g
    c1 = 1 / (1 - beta1 ** step)
    c2 = 1 / (1 - beta2 ** step)
    # As the TypeScript loop: moments stored float32, this step's update from the float64 values.
    w = table.table[at].double() * decay[:, None] - (lr * (m * c1)) / (torch.sqrt(v * c2) + eps)
    table.m[at] = m.float()
    table.v[at] = v.float()
    table.table[at] = w.float()
    table.last_step[at] = step


def peer_experts(x, gates, ids, down, up, act, training, gate=None):
    """PEER: out_t = Σ_e g[t,e] · act(u_id · x_t) · v_id; GLU experts: g · act(g_id · x) · (u_id · x) · v_id.

    x [T, d], gates / ids [T, h·k].
    """
    u = down.gather(ids, training)  # [T, h·k, d]
    v = up.gather(ids, training)
    pre = torch.einsum("td,tsd->ts", x, u)
    if gate is not None:
        g_rows = gate.gather(ids, training)
        hidden = activate(torch.einsum("td,tsd->ts", x, g_rows), act) * pre
    else:
        hidden = activate(pre, act)
    return torch.einsum("ts,tsd->td", gates * hidden, v)


def pkm_values(gates, ids, values, training):
    """PKM: out_t = Σ_e g[t,e] · values[id]."""
    rows = values.gather(ids, training)
    return torch.einsum("ts,tsd->td", gates, rows)


# ---------------------------------------------------------------- mixture of experts


def ffw(x, w_in, w_out, act, w_gate=None, b_in=None, b_gate=None, b_out=None):
    up = linear(x, w_in, b_in)
    hidden = activate(linear(x, w_gate, b_gate), act) * up if w_gate is not None else activate(up, act)
    return linear(hidden, w_out, b_out)


def moe(x, router, experts, act, routing, topk, capacity_factor, aux_loss, ctx, path):
    """runtime/layers/moe.ts: softmax router; token choice with capacity (tokens in order) or expert choice.

    experts: list of dicts with w_in, w_out and optionally w_gate, b_in, b_gate, b_out.
    """
    tokens = x.shape[0]
    num = len(experts)
    probs = torch.softmax(x @ router, dim=1)
    fixed = probs.detach()
    denominators = None
    if routing == "token":
        k = min(topk, num)
        _, top = stable_topk(fixed, k)  # [T, k]
        capacity = max(1, math.ceil(capacity_factor * k * tokens / num))
        lists = [[] for _ in range(num)]
        chosen = [0.0] * num
        for t, row in enumerate(top.tolist()):
            for e in row:
                chosen[e] += 1
                if len(lists[e]) < capacity:
                    lists[e].append(t)
        if k > 1:
            denominators = probs.gather(1, top).sum(1)
        if ctx.training and aux_loss > 0:
            total = sum(chosen)
            fraction = torch.tensor([c / total if total > 0 else 0.0 for c in chosen], dtype=probs.dtype, device=probs.device)
            ctx.add_aux_loss((fraction * probs.mean(0)).sum() * num * aux_loss)
    else:
        capacity = min(tokens, max(1, math.floor(capacity_factor * tokens / num)))
        _, top = stable_topk(fixed.t(), capacity)
        lists = [sorted(row) for row in top.tolist()]
    out = torch.zeros_like(x)
    for e, rows in enumerate(lists):
        if not rows:
            continue
        index = torch.tensor(rows, dtype=torch.int64, device=x.device)
        gate = probs[index, e]
        if denominators is not None:
            gate = gate / denominators[index]
        w = experts[e]
        y = ffw(x[index], w["w_in"], w["w_out"], act, w.get("w_gate"), w.get("b_in"), w.get("b_gate"), w.get("b_out"))
        out = out.index_add(0, index, y * gate[:, None])
    return out


# ---------------------------------------------------------------- forward context


class Context:
    def __init__(self, training, batch, seq_len, record_routing=None):
        self.training = training
        self.batch = batch
        self.seq_len = seq_len
        self.aux = []
        self.record_routing = record_routing

    def add_aux_loss(self, loss):
        self.aux.append(loss)


def cross_entropy(logits, targets):
    return -torch.log_softmax(logits, dim=1).gather(1, targets.reshape(-1, 1)).mean()


# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I32": (torch.int32, 4), "I64": (torch.int64, 8)}


def read_safetensors(path):
    """{name: tensor} and the metadata of a safetensors file (pure Python + torch)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UserError("%s: cannot be read (%s)" % (path, e.strerror or e))
    try:
        (size,) = struct.unpack("<Q", raw[:8])
        if size > len(raw) - 8:
            raise ValueError("truncated: header length %d, file has %d bytes after it" % (size, len(raw) - 8))
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise UserError("%s: not a safetensors file (%s)" % (path, e))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + size
    out = {}
    for name, info in header.items():
        if info["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %s has dtype %s, not supported" % (path, name, info["dtype"]))
        dtype, width = _DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        count = (end - start) // width
        t = torch.frombuffer(bytearray(raw[base + start:base + end]), dtype=dtype, count=count) if count > 0 else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, tensor) written as F32 in the given order; temp file + rename."""
    header = {}
    offset = 0
    blobs = []
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().cpu().numpy().tobytes() if _HAS_NUMPY else _tensor_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    temp = "%s.%d.tmp" % (path, os.getpid())
    with open(temp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def _tensor_bytes(t):
    flat = t.detach().to(torch.float32).contiguous().cpu().reshape(-1).tolist()
    return struct.pack("<%df" % len(flat), *flat)


try:
    import numpy  # noqa: F401

    _HAS_NUMPY = True
except ImportError:  # pragma: no cover
    _HAS_NUMPY = False


# ---------------------------------------------------------------- data (runtime/data)

M32 = 0xFFFFFFFF


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


def _imul(a, b):
    return (a * b) & M32


class Rng:
    """xoshiro128** seeded through splitmix32: runtime/data/rng.ts, draw for draw."""

    def __init__(self, state):
        self.a, self.b, self.c, self.d = [w & M32 for w in state]
        if (self.a | self.b | self.c | self.d) == 0:
            self.a = 1

    @staticmethod
    def from_seed(seed):
        s = int(seed) & M32
        words = []
        for _ in range(4):
            s = (s + 0x9E3779B9) & M32
            z = s
            z = _imul(z ^ (z >> 16), 0x85EBCA6B)
            z = _imul(z ^ (z >> 13), 0xC2B2AE35)
            words.append((z ^ (z >> 16)) & M32)
        return Rng(words)

    def state(self):
        return [self.a, self.b, self.c, self.d]

    def next_u32(self):
        result = _imul(_rotl(_imul(self.b, 5), 7), 9)
        t = (self.b << 9) & M32
        self.c ^= self.a
        self.d ^= self.b
        self.b ^= self.c
        self.a ^= self.d
        self.c ^= t
        self.d = _rotl(self.d, 11)
        return result

    def next_int(self, n):
        if n <= 0x100000000:
            limit = 0x100000000 - (0x100000000 % n)
            while True:
                x = self.next_u32()
                if x < limit:
                    return x % n
        hi = self.next_u32() >> 5
        lo = self.next_u32() >> 6
        return int(((hi * 67108864 + lo) / 9007199254740992) * n)


class ByteData:
    """Byte-level tokens of a file (token = byte) and the train/validation split of runtime/data/split.ts."""

    def __init__(self, path, val_fraction):
        with open(path, "rb") as f:
            raw = f.read()
        if len(raw) == 0:
            raise UserError("%s: the data file is empty" % path)
        self.tokens = torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.int64)
        self.label = path
        total = self.tokens.shape[0]
        val = int(math.floor(total * val_fraction))
        self.train = (0, total - val)
        self.val = (total - val, val)


class BatchSampler:
    """Random training windows (runtime/data/batches.ts): row r starts at split.start + rng.next_int(len − context)."""

    def __init__(self, data, split, context, batch, start):
        self.data, self.split, self.context, self.batch = data, split, context, batch
        if split[1] < context + 1:
            raise UserError("the training split of %d tokens is shorter than one window of %d" % (split[1], context + 1))
        if isinstance(start, dict):
            self.rng = Rng(start["rng"])
            self.drawn = start["batchesDrawn"]
        else:
            self.rng = Rng.from_seed(start)
            self.drawn = 0

    def next(self, rows=None):
        """The next batch; `rows` (a slice) reads only those rows: every rank draws all offsets, reads its own."""
        offsets = self.split[1] - self.context
        starts = [self.split[0] + self.rng.next_int(offsets) for _ in range(self.batch)]
        if rows is not None:
            starts = starts[rows]
        windows = torch.stack([self.data.tokens[s:s + self.context + 1] for s in starts])
        self.drawn += 1
        return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()

    def state(self):
        return {"rng": self.rng.state(), "batchesDrawn": self.drawn}


def sequential_batches(data, split, context, batch, max_batches):
    """Validation: floor((L − 1) / context) windows at stride context (tail dropped), batch rows at a time."""
    windows = (split[1] - 1) // context
    w = 0
    produced = 0
    while w < windows and produced < max_batches:
        rows = min(batch, windows - w)
        ws = torch.stack([data.tokens[split[0] + (w + r) * context: split[0] + (w + r) * context + context + 1] for r in range(rows)])
        w += rows
        produced += 1
        yield ws[:, :-1].contiguous(), ws[:, 1:].contiguous()


# ---------------------------------------------------------------- optimizer and schedule


def warmup_steps(schedule, total):
    w = schedule["warmup"]
    steps = w["steps"] if "steps" in w else int(_js_round(w["fraction"] * total))
    return max(0, min(steps, total))


def _js_round(x):
    return math.floor(x + 0.5)


def learning_rate(step, total, peak, schedule):
    """runtime/train/schedule.ts: step is 0-based."""
    warmup = warmup_steps(schedule, total)
    if step < warmup:
        return peak * (step + 1) / warmup
    if schedule["kind"] == "constant":
        return peak
    min_lr = schedule["minLr"] * peak
    decay = total - warmup - 1
    progress = 1.0 if decay <= 0 else min(1.0, (step - warmup) / decay)
    if schedule["kind"] == "linear":
        return peak - (peak - min_lr) * progress
    return min_lr + (peak - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class AdamW:
    """Dense AdamW of runtime/train/adamw.ts; expert tables step themselves (lazy, row-sparse)."""

    def __init__(self, model, opt):
        self.model = model
        self.opt = opt
        self.step = 0
        self.m = {name: torch.zeros_like(p) for name, p, _ in model.dense_parameters()}
        self.v = {name: torch.zeros_like(p) for name, p, _ in model.dense_parameters()}

    @torch.no_grad()
    def apply(self, lr, table_lr):
        self.step += 1
        t = self.step
        o = self.opt
        beta1, beta2, eps, wd = o["beta1"], o["beta2"], o["eps"], o["weightDecay"]
        c1 = 1 - beta1 ** t
        c2 = 1 - beta2 ** t
        for name, p, no_decay in self.model.dense_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m, v = self.m[name], self.v[name]
            m.mul_(beta1).add_(g * (1 - beta1))
            v.mul_(beta2).add_(g * g * (1 - beta2))
            update = (m / c1) / (torch.sqrt(v / c2) + eps)
            if wd > 0 and (o["decayAll"] or not no_decay):
                update = update + p * wd
            p.sub_(update * lr)
        for table in self.model.tables():
            table.step(table_lr, beta1, beta2, eps, wd if o["decayAll"] else 0.0, t)


# ---------------------------------------------------------------- distributed


def dist_info():
    """(rank, world) from torchrun's environment; (0, 1) for a plain run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def init_distributed(device):
    rank, world = dist_info()
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return rank, world


def comm_device():
    """Where collective buffers must live: the GPU under NCCL, the CPU under gloo."""
    if torch.distributed.is_initialized() and torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum_(t):
    """In-place all_reduce (sum) of any tensor, staged through the collective's device."""
    staged = t.to(comm_device())
    torch.distributed.all_reduce(staged)
    t.copy_(staged.to(t.device))


def all_reduce_mean_(tensors, world):
    if world == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    all_reduce_sum_(flat)
    flat /= world
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset:offset + n].reshape(t.shape))
        offset += n


def _exchange(send_lists, dtype, cols):
    """all_to_all of variable-size row blocks: send_lists[r] is [n_r, cols] (or [n_r]) for rank r."""
    world = len(send_lists)
    dev = comm_device()
    home = send_lists[0].device if send_lists else torch.device("cpu")
    counts = torch.tensor([t.shape[0] for t in send_lists], dtype=torch.int64, device=dev)
    recv_counts = torch.zeros(world, dtype=torch.int64, device=dev)
    torch.distributed.all_to_all_single(recv_counts, counts)
    width = cols if cols else 1
    send = torch.cat([t.reshape(t.shape[0], -1).to(dev, dtype) for t in send_lists])
    recv = torch.zeros(int(recv_counts.sum()), width, dtype=dtype, device=dev)
    torch.distributed.all_to_all_single(recv, send.reshape(-1, width).contiguous(), recv_counts.tolist(), counts.tolist())
    return recv.to(home), recv_counts.tolist()


def _owner_split(ids, world):
    owners = ids % world
    order = torch.argsort(owners, stable=True)
    sorted_ids = ids[order]
    counts = torch.bincount(owners, minlength=world).tolist()
    return order, list(torch.split(sorted_ids, counts)), counts


def sharded_fetch(table, ids):
    """Rows `ids` of a row-sharded table: ask each owner (id % world) for its rows via all_to_all."""
    rank, world = table.shard
    order, per_owner, counts = _owner_split(ids, world)
    requested, req_counts = _exchange([p.reshape(-1, 1) for p in per_owner], torch.int64, 1)
    local = torch.div(requested.reshape(-1), world, rounding_mode="floor")
    rows = table.table[local]
    blocks = list(torch.split(rows, req_counts))
    got, _ = _exchange(blocks, torch.float32, table.cols)
    out = torch.empty(ids.shape[0], table.cols, device=table.device)
    out[order] = got.to(table.device)
    return out


def reduce_table_grads(table, world):
    """Makes the table's row gradients the mean over ranks of the merged step gradients.

    Replicated tables: every rank gets the union of rows (all_gather, padded).
    Row-sharded tables: rows go to their owners (id % world) with all_to_all, and each owner
    keeps only its own rows; a row's gradient then lives on exactly one rank.
    """
    table.collect_grads()
    if world == 1:
        return
    ids = table.grad_ids if table.grad_ids is not None else torch.zeros(0, dtype=torch.int64, device=table.device)
    grads = table.grad_rows if table.grad_rows is not None else torch.zeros(0, table.cols, device=table.device)
    if table.shard is None:
        dev = comm_device()
        counts = [torch.zeros(1, dtype=torch.int64, device=dev) for _ in range(world)]
        torch.distributed.all_gather(counts, torch.tensor([ids.shape[0]], dtype=torch.int64, device=dev))
        most = max(int(c) for c in counts)
        pad_ids = torch.full((most,), -1, dtype=torch.int64, device=dev)
        pad_ids[: ids.shape[0]] = ids.to(dev)
        pad_grads = torch.zeros(most, table.cols, device=dev)
        pad_grads[: ids.shape[0]] = grads.to(dev)
        all_ids = [torch.zeros_like(pad_ids) for _ in range(world)]
        all_grads = [torch.zeros_like(pad_grads) for _ in range(world)]
        torch.distributed.all_gather(all_ids, pad_ids)
        torch.distributed.all_gather(all_grads, pad_grads)
        got_ids = torch.cat([a[: int(c)] for a, c in zip(all_ids, counts)]).to(table.device)
        got_grads = torch.cat([g[: int(c)] for g, c in zip(all_grads, counts)]).to(table.device)
    else:
        order, per_owner, counts = _owner_split(ids, world)
        got_ids, _ = _exchange([q.reshape(-1, 1) for q in per_owner], torch.int64, 1)
        got_grads, _ = _exchange(list(torch.split(grads[order], counts)), torch.float32, table.cols)
        got_ids = got_ids.reshape(-1)
    if got_ids.numel() == 0:
        table.grad_ids, table.grad_rows = None, None
        return
    unique, inverse = torch.unique(got_ids, return_inverse=True)
    summed = torch.zeros(unique.shape[0], table.cols, device=table.device)
    summed.index_add_(0, inverse, got_grads)
    table.grad_ids, table.grad_rows = unique, summed / world


def sharded_step(table, lr, beta1, beta2, eps, weight_decay, step):
    """Lazy AdamW of the rows this rank owns (their gradients were routed here by reduce_table_grads)."""
    rank, world = table.shard
    local = torch.div(table.grad_ids, world, rounding_mode="floor")
    apply_lazy_adamw(table, table.grad_ids, table.grad_rows, lr, beta1, beta2, eps, weight_decay, step, local=local)
    table.zero_grads()


def shard_table(table, rank, world):
    """Keep rows r ≡ rank (mod world) of a replicated table (and its optimizer state)."""
    keep = torch.arange(rank, table.rows, world)
    table.table = table.table[keep].clone()
    table.m = table.m[keep].clone()
    table.v = table.v[keep].clone()
    table.last_step = table.last_step[keep].clone()
    table.shard = (rank, world)


def gather_sharded(table, full):
    """Reassembles a sharded table's [rows, cols] tensor `full` (e.g. table.table) on every rank."""
    rank, world = table.shard
    parts = [None] * world
    torch.distributed.all_gather_object(parts, full)
    out = torch.zeros((table.rows,) + tuple(full.shape[1:]), dtype=full.dtype)
    for r in range(world):
        out[torch.arange(r, table.rows, world)] = parts[r].cpu()
    return out


# ---------------------------------------------------------------- errors


class UserError(Exception):
    pass


def clip_factor(norm, max_norm):
    if max_norm is None or not (norm > max_norm):
        return 1.0
    return max_norm / norm


# ---------------------------------------------------------------- the model base


class LanguageModel(torch.nn.Module):
    """Base of every emitted Model: names, init, loading and export of the docs/weights.md tensors.

    Each layer module class lists PARTS (export part, attribute, no_decay, init),
    BUFFERS (part, attribute) and TABLES (part, attribute, rows, cols, init std);
    the model lists its layers in order as self.layer_list [(path, module)].
    """

    def layer_modules(self):
        return self.layer_list

    def dense_parameters(self):
        """(export name, parameter, no_decay) of every dense trainable tensor, in layer order."""
        for path, module in self.layer_list:
            for part, attr, no_decay, _ in module.parts():
                yield "%s.%s" % (path, part), getattr(module, attr), no_decay

    def buffers_named(self):
        for path, module in self.layer_list:
            for part, attr in module.BUFFERS:
                yield "%s.%s" % (path, part), getattr(module, attr)

    def tables(self):
        return [getattr(module, attr) for path, module in self.layer_list for part, attr, _, _, _ in module.TABLES]

    def export_tensors(self):
        """What --export writes: dense weights, buffers, then the tables (weights only)."""
        out = [(n, p) for n, p, _ in self.dense_parameters()]
        out += list(self.buffers_named())
        out += [(t.name, full_table(t, t.table)) for t in self.tables()]
        return out

    @torch.no_grad()
    def init_weights(self, seed):
        """Seeded init with the TypeScript runtime's distributions (not its exact values)."""
        gen = torch.Generator().manual_seed(int(seed))
        for path, module in self.layer_list:
            for part, attr, _, (kind, scale) in module.parts():
                t = getattr(module, attr)
                if kind == "normal":
                    t.copy_(torch.randn(t.shape, generator=gen) * scale)
                elif kind == "uniform":
                    t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * scale)
                elif kind == "ones":
                    t.fill_(1.0)
                else:
                    t.zero_()
            for part, attr in module.BUFFERS:
                getattr(module, attr).fill_(1.0 if part.endswith("running_var") else 0.0)
            for part, attr, rows, cols, std in module.TABLES:
                table = getattr(module, attr)
                table.table = torch.randn(rows, cols, generator=gen) * std

    @torch.no_grad()
    def load_tensors(self, tensors, where):
        """Loads dense weights, buffers and tables from {name: tensor}; every name and shape is checked."""
        def take(name, shape):
            if name not in tensors:
                raise UserError("%s: tensor %s is missing" % (where, name))
            t = tensors[name]
            if list(t.shape) != list(shape):
                raise UserError("%s: tensor %s has shape %s, the model needs %s" % (where, name, list(t.shape), list(shape)))
            return t.to(torch.float32)
        for name, p, _ in self.dense_parameters():
            p.copy_(take(name, p.shape))
        for name, b in self.buffers_named():
            b.copy_(take(name, b.shape))
        for t in self.tables():
            t.table = take(t.name, (t.rows, t.cols)).clone()
            if t.name + ".adam_m" in tensors:
                t.m = take(t.name + ".adam_m", (t.rows, t.cols)).clone()
                t.v = take(t.name + ".adam_v", (t.rows, t.cols)).clone()
                t.last_step = take(t.name + ".last_step", (t.rows,)).to(torch.int64)

    def loss(self, ids, targets, training):
        logits, ctx = self.forward(ids, training)
        ce = cross_entropy(logits, targets)
        aux = sum(ctx.aux) if ctx.aux else None
        return (ce + aux if aux is not None else ce), ce, aux

    def param_count(self):
        dense = sum(p.numel() for _, p, _ in self.dense_parameters())
        return dense + sum(t.rows * t.cols for t in self.tables())


def full_table(table, part):
    return part if table.shard is None else gather_sharded(table, part)


class LayerModule(torch.nn.Module):
    PARTS = ()
    BUFFERS = ()
    TABLES = ()

    def parts(self):
        return self.PARTS


# ---------------------------------------------------------------- checkpoints (runtime/checkpoint)

STATE_FORMAT = 1
PEERC_VERSION_TORCH = "torch-target"


def step_dir_name(step):
    return "step-%06d" % step


def latest_checkpoint(out):
    try:
        names = os.listdir(out)
    except OSError:
        return None
    steps = sorted(int(n[5:]) for n in names if n.startswith("step-") and n[5:].isdigit() and os.path.exists(os.path.join(out, n, "state.json")))
    return os.path.join(out, step_dir_name(steps[-1])) if steps else None


def save_checkpoint(out, weights, optimizer, state, keep=3):
    """step-NNNNNN/{weights,optimizer}.safetensors + state.json, written to a temp folder and renamed; `latest` points at it."""
    name = step_dir_name(state["step"])
    os.makedirs(out, exist_ok=True)
    temp = os.path.join(out, ".tmp-%s-%d-%d" % (name, os.getpid(), int(time.time() * 1000)))
    os.makedirs(temp)
    meta = {"format": "peerc", "specHash": state["specHash"], "step": str(state["step"])}
    write_safetensors(os.path.join(temp, "weights.safetensors"), weights, meta)
    write_safetensors(os.path.join(temp, "optimizer.safetensors"), optimizer, meta)
    full = dict(format=STATE_FORMAT, peercVersion=PEERC_VERSION_TORCH, createdAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **state)
    with open(os.path.join(temp, "state.json"), "w") as f:
        f.write(json.dumps(full, indent=2) + "\n")
    final = os.path.join(out, name)
    if os.path.exists(final):
        import shutil

        shutil.rmtree(final)
    os.replace(temp, final)
    pointer = os.path.join(out, ".latest.%d.tmp" % os.getpid())
    with open(pointer, "w") as f:
        f.write(name + "\n")
    os.replace(pointer, os.path.join(out, "latest"))
    steps = sorted(int(n[5:]) for n in os.listdir(out) if n.startswith("step-") and n[5:].isdigit())
    import shutil

    for s in steps[:-keep]:
        shutil.rmtree(os.path.join(out, step_dir_name(s)), ignore_errors=True)
    return final


# ---------------------------------------------------------------- training loop

USAGE = """usage: train.py [options]   (also: torchrun --nproc_per_node N train.py [options])
  --data <file>            training text, byte tokens (default: the spec's data)
  --val-data <file>        separate validation text (default: the last val% of --data)
  --steps <n> | --tokens <n>  training horizon (default: the spec's)
  --batch <n>              sequences per optimizer step, all ranks together (default: the spec's)
  --device <d>             auto | cpu | cuda (default auto)
  --out <dir>              run folder: checkpoints, metrics.jsonl (default runs/<model>)
  --resume                 continue from the latest checkpoint in --out (any number of ranks)
  --seed <n>               weights and data order (default: the spec's)
  --eval-every <n>         validation every n steps
  --eval-batches <n>       validation batches per evaluation (default 16)
  --log-every <n>          metrics line every n steps
  --checkpoint-every <n>   checkpoint every n steps
  --export <dir>           write the final weights (dir/weights.safetensors) and dir/architecture.json
  --init-from <file>       start from these weights (an export's weights.safetensors, e.g. from the TypeScript trainer)
  --shard-tables           under torchrun: split PEER/PKM expert tables by rows across ranks (all_to_all)
  --tables-on-cpu          under CUDA, keep expert tables and their moments in host memory (default: on the GPU)
  --compile                wrap the model in torch.compile (PyTorch 2.x only)
  --threads <n>            CPU threads (torch.set_num_threads)
  --nproc <n>              start n local ranks itself (what torchrun --nproc_per_node n does; Debian's
                           torch 1.13 torchrun fails under Python 3.11)"""


def parse_args(argv, model_name):
    o = {"data": None, "val-data": None, "steps": None, "tokens": None, "batch": None, "device": "auto", "out": None, "resume": False,
         "seed": None, "eval-every": None, "eval-batches": 16, "log-every": None, "checkpoint-every": None, "export": None,
         "init-from": None, "shard-tables": False, "tables-on-cpu": False, "compile": False, "threads": None, "nproc": None, "force-memory": False, "help": False}
    ints = {"steps", "tokens", "batch", "eval-every", "eval-batches", "log-every", "checkpoint-every", "threads", "nproc"}
    flags = {"resume", "shard-tables", "tables-on-cpu", "compile", "force-memory", "help"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--") or a[2:].split("=")[0] not in o:
            raise UsageError("unknown option %s" % json.dumps(a))
        key, _, inline = a[2:].partition("=")
        if key in flags:
            o[key] = True
            i += 1
            continue
        if inline:
            value = inline
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UsageError("--%s needs a value" % key)
            value = argv[i + 1]
            i += 2
        if key in ints or key == "seed":
            try:
                n = int(value)
            except ValueError:
                raise UsageError("--%s must be an integer, got %s" % (key, json.dumps(value)))
            if key != "seed" and n < 1:
                raise UsageError("--%s must be a positive integer, got %s" % (key, json.dumps(value)))
            o[key] = n
        else:
            o[key] = value
    if o["steps"] is not None and o["tokens"] is not None:
        raise UsageError("give --steps or --tokens, not both")
    if o["device"] not in ("auto", "cpu", "cuda"):
        raise UsageError("--device must be auto, cpu or cuda, got %s" % json.dumps(o["device"]))
    if o["out"] is None:
        import re

        o["out"] = os.path.join("runs", re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name))
    return o


class UsageError(Exception):
    pass


def pick_device(request):
    if request == "cuda" or (request == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise UserError("--device cuda: this PyTorch sees no CUDA device")
        rank = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", rank % torch.cuda.device_count())
    return torch.device("cpu")


def describe_device(device):
    where = "cpu" if device.type == "cpu" else "cuda (%s)" % torch.cuda.get_device_name(device)
    return "torch %s on %s, python %s (%s)" % (torch.__version__, where, sys.version.split()[0], sys.executable)


def plan_steps(o, train, tokens_per_step, train_flops_per_token):
    if o["steps"] is not None:
        return o["steps"]
    if o["tokens"] is not None:
        return math.ceil(o["tokens"] / tokens_per_step)
    h = train["horizon"]
    if h["kind"] == "steps":
        return h["steps"]
    if h["kind"] == "tokens":
        return max(1, math.ceil(h["tokens"] / tokens_per_step))
    if not train_flops_per_token:
        raise UsageError("the spec's horizon is a FLOP budget: pass --steps or --tokens")
    return max(1, math.floor(h["flops"] / (train_flops_per_token * tokens_per_step)))


def train_main(argv, spec, train, data_path, here, architecture, out=print):
    """The command line of every emitted train.py; returns the exit code."""
    try:
        o = parse_args(argv, spec.MODEL_NAME)
        if o["help"]:
            out(USAGE)
            return 0
    except UsageError as e:
        print("error: %s" % e, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    if o["nproc"] and o["nproc"] > 1 and "WORLD_SIZE" not in os.environ:
        return launch_local(o["nproc"], argv)
    try:
        return _train(o, spec, train, data_path, here, architecture, out)
    except (UserError, UsageError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1 if isinstance(e, UserError) else 2


def launch_local(nproc, argv):
    """Starts nproc copies of this script as ranks 0..nproc-1 (static rendezvous on localhost, like torchrun)."""
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    procs = []
    for rank in range(nproc):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc), LOCAL_WORLD_SIZE=str(nproc),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, os.path.abspath(sys.argv[0])] + list(argv), env=env))
    # A rank that fails would leave the others waiting in a collective: stop them too.
    while True:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c is not None and c != 0]
        if failed:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                p.wait()
            return failed[0] if failed[0] > 0 else 128 - failed[0]
        if all(c == 0 for c in codes):
            return 0
        time.sleep(0.05)


def _train(o, spec, train, data_path, here, architecture, out):
    if o["threads"]:
        torch.set_num_threads(o["threads"])
    device = pick_device(o["device"])
    rank, world = init_distributed(device)
    say = out if rank == 0 else (lambda *_: None)
    say(describe_device(device) + ("; %d ranks (%s)" % (world, "nccl" if device.type == "cuda" else "gloo") if world > 1 else ""))
    context = train["context"]
    batch = o["batch"] or train["batch"]
    micro = train["microBatch"] if batch % train["microBatch"] == 0 else batch
    if micro % world != 0:
        raise UsageError("the micro-batch of %d sequences does not split over %d ranks" % (micro, world))
    total_steps = plan_steps(o, train, batch * context, getattr(spec, "TRAIN_FLOPS_PER_TOKEN", None))
    seed = o["seed"] if o["seed"] is not None else train["seed"]
    log_every = o["log-every"] or train["logEvery"]
    eval_every = o["eval-every"] or train["evalEvery"]
    ckpt_every = o["checkpoint-every"] or train["checkpointEvery"]
    if train["data"]["tokenizer"] != "bytes":
        raise UserError("the torch target reads byte-level data only; this spec uses the %s tokenizer" % train["data"]["tokenizer"])
    path = o["data"] or (os.path.join(here, data_path) if data_path else None)
    if path is None and os.path.isfile(os.path.join(here, "builtin-corpus.txt")):
        path = os.path.join(here, "builtin-corpus.txt")  # written by `peerc train --target torch`
    if path is None:
        raise UserError("the spec names no data file and the built-in corpus (TypeScript runtime) is not here: pass --data FILE, or run through `peerc train --target torch`")
    if not os.path.isfile(path):
        raise UserError("%s: no such data file" % path)
    data = ByteData(path, 0.0 if o["val-data"] else train["data"]["valFraction"])
    val_data = ByteData(o["val-data"], 0.0) if o["val-data"] else data
    val_split = val_data.train if o["val-data"] else data.val
    if spec.VOCAB < 256:
        raise UserError("the byte tokenizer has 256 tokens but the model's vocab is %d" % spec.VOCAB)

    torch.manual_seed(seed)
    model = spec.Model()
    model.init_weights(seed)
    if o["init-from"]:
        tensors, _ = read_safetensors(o["init-from"])
        model.load_tensors(tensors, o["init-from"])
    model.to(device)
    if device.type == "cuda" and not o["tables-on-cpu"]:
        for t in model.tables():
            t.to_device(device)
    if o["shard-tables"] and world > 1:
        for t in model.tables():
            shard_table(t, rank, world)
            say("%s: sharded by rows over %d ranks, rank 0 holds %d of %d rows" % (t.name, world, t.table.shape[0], t.rows))
    forward = torch.compile(model) if o["compile"] and hasattr(torch, "compile") else model
    if o["compile"] and not hasattr(torch, "compile"):
        say("note: --compile ignored: torch %s has no torch.compile" % torch.__version__)
    optimizer = AdamW(model, train["optimizer"])
    if train["optimizer"].get("expertMoments") == "bf16" and model.tables():
        # The spec's expert_moments: bf16 is a TypeScript-trainer (ExpertTable) setting; here the moments stay float32.
        say("note: expert_moments: bf16 is not implemented by the torch target: the expert tables keep float32 Adam moments (twice their memory in the TypeScript trainer)")
    sampler = BatchSampler(data, data.train, context, micro, seed)
    tokens_seen = 0
    if o["resume"]:
        ckpt = latest_checkpoint(o["out"])
        if ckpt is None:
            raise UsageError("--resume: no checkpoint in %s" % o["out"])
        with open(os.path.join(ckpt, "state.json")) as f:
            state = json.load(f)
        if state["specHash"] != spec.SPEC_HASH:
            raise UserError("%s: checkpoint of spec hash %s, this model is %s" % (ckpt, state["specHash"], spec.SPEC_HASH))
        weights, _ = read_safetensors(os.path.join(ckpt, "weights.safetensors"))
        moments, _ = read_safetensors(os.path.join(ckpt, "optimizer.safetensors"))
        model.load_tensors(dict(weights, **moments), ckpt)
        for name, p, _ in model.dense_parameters():
            optimizer.m[name].copy_(moments[name + ".adam_m"])
            optimizer.v[name].copy_(moments[name + ".adam_v"])
        optimizer.step = state["optimizerStep"]
        sampler = BatchSampler(data, data.train, context, micro, state["data"])
        tokens_seen = state["tokensSeen"]
        if device.type == "cuda" and not o["tables-on-cpu"]:
            for t in model.tables():
                t.to_device(device)
        if o["shard-tables"] and world > 1:
            for t in model.tables():
                shard_table(t, rank, world)
        say("resumed from %s at step %d" % (ckpt, state["step"]))
    say("model %s: %s parameters; data %s: %s bytes; %d steps x %d x %d tokens (%d micro-batch%s of %d)%s, warmup %d" % (
        spec.MODEL_NAME, format(model.param_count(), ","), data.label, format(data.tokens.shape[0], ","), total_steps, batch, context,
        batch // micro, "" if batch == micro else "es", micro, "" if world == 1 else ", %d sequences per rank per pass" % (micro // world),
        warmup_steps(train["schedule"], total_steps)))
    os.makedirs(o["out"], exist_ok=True)
    metrics_path = os.path.join(o["out"], "metrics.jsonl")
    if rank == 0 and optimizer.step > 0 and os.path.exists(metrics_path):
        with open(metrics_path) as f:
            kept = [line for line in f if line.strip() and json.loads(line).get("step", 0) <= optimizer.step]
        with open(metrics_path, "w") as f:
            f.writelines(kept)
    elif rank == 0 and optimizer.step == 0 and os.path.exists(metrics_path):
        os.remove(metrics_path)
    metrics = open(metrics_path, "a") if rank == 0 else None
    started = time.time()
    opt = train["optimizer"]
    per_rank = micro // world
    n_micro = batch // micro

    def log(record):
        if metrics is not None:
            record["time"] = round(time.time() - started, 2)
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()

    recalibrate = train.get("bnRecalibrate", DEFAULT_BN_RECALIBRATE)
    has_query_bn = any(n.endswith(".query.bn.running_mean") for n, _ in model.buffers_named())

    def recalibrate_statistics(step):
        """bn_recalibrate (runtime/train/recalibrate.ts): before each evaluation, from a stream of its own."""
        if recalibrate <= 0 or not has_query_bn:
            return
        stream = BatchSampler(data, data.train, context, micro, recalibration_seed(seed, step))
        rows = slice(rank * per_rank, (rank + 1) * per_rank)
        recalibrate_query_statistics(forward, [stream.next(rows)[0].to(device) for _ in range(recalibrate)])

    def evaluate(step):
        recalibrate_statistics(step)
        total, count = 0.0, 0
        sums = torch.zeros(2, dtype=torch.float64)
        batches = list(sequential_batches(val_data, val_split, context, micro, o["eval-batches"]))
        with torch.no_grad():
            for inputs, targets in batches:
                if world > 1 and not o["shard-tables"]:
                    inputs, targets = inputs[rank::world], targets[rank::world]
                if inputs.shape[0] == 0:
                    continue
                logits, _ = forward(inputs.to(device), False)
                ce = cross_entropy(logits, targets.reshape(-1).to(device))
                sums += torch.tensor([float(ce) * targets.numel(), targets.numel()], dtype=torch.float64)
        if world > 1 and not o["shard-tables"]:
            all_reduce_sum_(sums)
        total, count = float(sums[0]), float(sums[1])
        if count == 0:
            return
        mean = total / count
        bpb = mean / math.log(2)  # byte tokens: one byte per token
        log({"step": step, "tokens": tokens_seen, "val_loss": mean, "val_bpb": bpb})
        say("step %d: val loss %.4f, %.4f bits/byte" % (step, mean, bpb))

    def save(step):
        """The TypeScript trainer's layout: weights = dense + buffers; optimizer = moments + tables with their state."""
        weights = [(n, p) for n, p, _ in model.dense_parameters()] + list(model.buffers_named())
        moments = []
        for name, p, _ in model.dense_parameters():
            moments += [(name + ".adam_m", optimizer.m[name]), (name + ".adam_v", optimizer.v[name])]
        for t in model.tables():
            moments += [(t.name, full_table(t, t.table)), (t.name + ".adam_m", full_table(t, t.m)), (t.name + ".adam_v", full_table(t, t.v)),
                        (t.name + ".last_step", full_table(t, t.last_step).to(torch.float32))]
        if rank != 0:
            return
        save_checkpoint(o["out"], weights, moments, {
            "specHash": spec.SPEC_HASH, "model": spec.MODEL_NAME, "step": step, "tokensSeen": tokens_seen, "data": sampler.state(),
            "optimizerStep": optimizer.step,
            "schedule": {"lr": opt["lr"], "totalSteps": total_steps, "warmupSteps": warmup_steps(train["schedule"], total_steps), "kind": train["schedule"]["kind"]},
        })

    try:
        while optimizer.step < total_steps:
            t0 = time.time()
            lr = learning_rate(optimizer.step, total_steps, opt["lr"], train["schedule"])
            table_lr = opt["expertLr"] if opt["expertLr"] is not None else lr
            for _, p, _ in model.dense_parameters():
                p.grad = None
            loss_sum = torch.zeros(3, dtype=torch.float64)
            for _ in range(n_micro):
                inputs, targets = sampler.next(slice(rank * per_rank, (rank + 1) * per_rank))
                logits, ctx = forward(inputs.to(device), True)
                ce = cross_entropy(logits, targets.reshape(-1).to(device))
                aux = sum(ctx.aux) if ctx.aux else None
                loss = ce + aux if aux is not None else ce
                (loss / n_micro).backward()
                loss_sum += torch.tensor([float(loss), float(ce), float(aux) if aux is not None else 0.0], dtype=torch.float64)
                tokens_seen += inputs.numel() * world
            # The micro-batch losses were divided by n_micro: gradients are already the mean.
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for _, p, _ in model.dense_parameters()]
            for (_, p, _), g in zip(model.dense_parameters(), grads):
                p.grad = g
            all_reduce_mean_(grads, world)
            if world > 1:
                all_reduce_sum_(loss_sum)
                loss_sum /= world
            for t in model.tables():
                reduce_table_grads(t, world)
            dense_sq = float(sum((g.double() ** 2).sum() for g in grads)) if grads else 0.0
            sparse_rep = sum(t.grad_squared_norm() for t in model.tables() if t.shard is None)
            sparse_sh = torch.tensor([sum(t.grad_squared_norm() for t in model.tables() if t.shard is not None)], dtype=torch.float64)
            if world > 1 and any(t.shard is not None for t in model.tables()):
                all_reduce_sum_(sparse_sh)
            norm = math.sqrt(dense_sq + sparse_rep + float(sparse_sh[0]))
            loss_v, ce_v, aux_v = [float(x) / n_micro for x in loss_sum]
            if not math.isfinite(loss_v) or not math.isfinite(norm):
                raise UserError("training diverged at step %d: loss %s, gradient norm %s; the last good checkpoint was kept; lower the learning rate or enable clipping" % (optimizer.step + 1, loss_v, norm))
            factor = clip_factor(norm, opt["clip"])
            if factor != 1.0:
                for g in grads:
                    g.mul_(factor)
                for t in model.tables():
                    t.scale_grads(factor)
            optimizer.apply(lr, table_lr)
            step = optimizer.step
            seconds = max(time.time() - t0, 1e-9)
            tps = batch * context / seconds
            if step % log_every == 0 or step == total_steps:
                record = {"step": step, "tokens": tokens_seen, "loss": ce_v, "lr": lr, "grad_norm": norm, "tokens_per_s": tps}
                if aux_v:
                    record["aux_loss"] = aux_v
                log(record)
                say("step %d/%d: loss %.4f, lr %.3g, %.0f tokens/s" % (step, total_steps, ce_v, lr, tps))
            if step % eval_every == 0 or step == total_steps:
                evaluate(step)
            if step % ckpt_every == 0 or step == total_steps:
                save(step)
            if os.environ.get("PEERC_TEST_KILL_AFTER_STEP") == str(step):
                # Test hook: die like a killed job (SIGKILL, no cleanup) right after this step.
                import signal

                if world > 1:
                    torch.distributed.barrier()
                os.kill(os.getpid(), signal.SIGKILL)
    finally:
        if metrics is not None:
            metrics.close()
    if o["export"]:
        tensors = model.export_tensors()
        if rank == 0:
            os.makedirs(o["export"], exist_ok=True)
            write_safetensors(os.path.join(o["export"], "weights.safetensors"), tensors, {"model": spec.MODEL_NAME, "specHash": spec.SPEC_HASH})
            temp = os.path.join(o["export"], ".architecture.json.tmp")
            with open(temp, "w") as f:
                f.write(json.dumps(architecture, indent=2) + "\n")
            os.replace(temp, os.path.join(o["export"], "architecture.json"))
            say("exported %d tensors to %s" % (len(tensors), os.path.join(o["export"], "weights.safetensors")))
    say("done: %d steps, %s tokens; run folder %s" % (optimizer.step, format(tokens_seen, ","), o["out"]))
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return 0
