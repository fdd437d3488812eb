"""Test helper: logits of an emitted torch model (DIR/model.py) from a weights file on given tokens.

usage: logits.py DIR WEIGHTS TOKENS_BIN B T OUT_BIN   (int32 tokens in, float32 logits [B·T, vocab] out)
"""
import struct
import sys

import torch

sys.path.insert(0, sys.argv[1])
import model as spec  # noqa: E402
import peerc_runtime as rt  # noqa: E402

torch.set_num_threads(1)
weights, _ = rt.read_safetensors(sys.argv[2])
net = spec.Model()
net.load_tensors(weights, sys.argv[2])
b, t = int(sys.argv[4]), int(sys.argv[5])
raw = open(sys.argv[3], "rb").read()
ids = torch.tensor(struct.unpack("<%di" % (b * t), raw), dtype=torch.int64).reshape(b, t)
with torch.no_grad():
    logits, _ = net(ids, False)
open(sys.argv[6], "wb").write(logits.contiguous().numpy().astype("<f4").tobytes())
