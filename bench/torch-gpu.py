"""GPU training benchmark of torch-target trainers: tokens/s, MFU and peak memory, fp32 and bf16 autocast.

usage: python3 bench/torch-gpu.py DIR [DIR ...] [--steps N] [--warmup W] [--batch B] [--bf16-peak F] [--fp32-peak F]

DIR is a folder written by `peerc compile SPEC --target torch -o DIR` (bench/torch-gpu.ts writes
specs/peer-1m.peer and the d 1024 paper-like PEER model and runs this). MFU = train FLOPs per token
(the cost model's, in DIR/train.py) × tokens/s / peak. Peaks default to an H100/H200 SXM's dense
figures: bf16 989 TFLOP/s, fp32 67 TFLOP/s (no TF32). Expert tables live on the GPU with lazy
row-sparse AdamW, as train.py does under CUDA.
"""
import argparse
import importlib
import json
import sys
import time

import torch


def bench(folder, precision, steps, warmup, batch, peaks, device_name="cuda"):
    sys.path.insert(0, folder)
    for name in ("model", "train", "peerc_runtime"):
        sys.modules.pop(name, None)
    spec = importlib.import_module("model")
    trainer = importlib.import_module("train")
    rt = importlib.import_module("peerc_runtime")
    sys.path.remove(folder)
    device = torch.device(device_name)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    net = spec.Model()
    net.init_weights(0)
    net.to(device)
    for t in net.tables():
        t.to_device(device)
    opt = rt.AdamW(net, trainer.TRAIN["optimizer"])
    context = trainer.TRAIN["context"]
    rows = batch or trainer.TRAIN["microBatch"]
    gen = torch.Generator(device="cpu").manual_seed(0)
    times = []
    for step in range(warmup + steps):
        ids = torch.randint(0, spec.VOCAB, (rows, context), generator=gen).to(device)
        targets = torch.randint(0, spec.VOCAB, (rows * context,), generator=gen).to(device)
        sync()
        t0 = time.time()
        for _, p, _ in net.dense_parameters():
            p.grad = None
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits, ctx = net(ids, True)
        loss = rt.cross_entropy(logits.float(), targets)
        if ctx.aux:
            loss = loss + sum(ctx.aux)
        loss.backward()
        for t in net.tables():
            t.collect_grads()
        opt.apply(1e-4, 1e-3)
        sync()
        if step >= warmup:
            times.append(time.time() - t0)
    tokens_per_s = rows * context / (sum(times) / len(times))
    flops = trainer.TRAIN_FLOPS_PER_TOKEN * tokens_per_s
    return {
        "model": spec.MODEL_NAME, "precision": precision, "batch": rows, "context": context,
        "tokens_per_s": round(tokens_per_s, 1), "train_tflops": round(flops / 1e12, 2),
        "mfu_vs_bf16_peak": round(flops / peaks["bf16"], 4), "mfu_vs_fp32_peak": round(flops / peaks["fp32"], 4),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None, "loss": round(float(loss), 4),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--bf16-peak", type=float, default=989e12)
    ap.add_argument("--fp32-peak", type=float, default=67e12)
    ap.add_argument("--cpu-smoke", action="store_true", help="run the same code on the CPU (checks the script, not a benchmark)")
    a = ap.parse_args()
    if a.cpu_smoke:
        for folder in a.dirs:
            for precision in ("fp32", "bf16"):
                print(json.dumps(bench(folder, precision, a.steps, a.warmup, a.batch, {"bf16": a.bf16_peak, "fp32": a.fp32_peak}, "cpu")))
        return 0
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs an NVIDIA GPU", file=sys.stderr)
        return 1
    print("torch %s, %s, python %s" % (torch.__version__, torch.cuda.get_device_name(0), sys.version.split()[0]))
    for folder in a.dirs:
        for precision in ("fp32", "bf16"):
            r = bench(folder, precision, a.steps, a.warmup, a.batch, {"bf16": a.bf16_peak, "fp32": a.fp32_peak})
            print(json.dumps(r))
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
