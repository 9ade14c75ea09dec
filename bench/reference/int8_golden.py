#!/usr/bin/python3
"""Golden vectors for --dtype int8: the reference forward pass with every linear layer's weight in int8.

The scheme remask's native/src/linear.h runs: each weight W [out, in] quantized symmetrically per output channel
(scale = max |W_row| / 127, zero point 0), multiplied by libtorch's dynamic int8 GEMM on oneDNN
(torch.ops.quantized.linear_dynamic: the input quantized per call, per tensor, to uint8), float32 in and out;
embedding, norms, RoPE and attention in float32. The forward is the reference's own (llada_reference.LLaDA),
with its F.linear replaced; the input is forward.json's for tiny-llada-f32.

    /usr/bin/python3 bench/reference/int8_golden.py > src/test/resources/golden/int8.json

Also records the quality cost against float32 on that input (max |logit difference|, rows whose argmax
changes), and the part of it that the weights alone cause (dequantized weights, float32 activations).
Needs only torch (Debian: python3-torch).
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llada_reference as ref  # noqa: E402

GOLDEN = os.path.join(HERE, "..", "..", "src", "test", "resources", "golden")
MODEL = "tiny-llada-f32"


def scales(w):
    return w.abs().amax(1) / 127  # float32; a row of zeros would need scale 1 (none here)


def int8_linear(x, w, bias=None):
    torch.backends.quantized.engine = "onednn"
    qw = torch.quantize_per_channel(w.contiguous(), scales(w).double(), torch.zeros(w.shape[0], dtype=torch.long),
                                    0, torch.qint8)
    y = torch.ops.quantized.linear_dynamic(x.contiguous(), torch.ops.quantized.linear_prepack(qw, None), False)
    return y if bias is None else y + bias


def dequantized_linear(x, w, bias=None):
    s = scales(w)[:, None]
    return FLOAT_LINEAR(x, (w / s).round().clamp(-127, 127) * s, bias)


FLOAT_LINEAR = F.linear


def run(model, ids, linear):
    ref.F.linear = linear
    try:
        with torch.no_grad():
            return model(torch.tensor([ids]))[0]
    finally:
        ref.F.linear = FLOAT_LINEAR


def main():
    entry = next(e for e in json.load(open(os.path.join(GOLDEN, "forward.json"))) if e["model"] == MODEL)
    config, weights = ref.load_checkpoint(os.path.join(GOLDEN, MODEL))
    model = ref.LLaDA(config, weights)
    ids = entry["input_ids"]
    full = run(model, ids, FLOAT_LINEAR)
    int8 = run(model, ids, int8_linear)
    weights_only = run(model, ids, dequantized_linear)
    changed = lambda x: int((x.argmax(-1) != full.argmax(-1)).sum())  # noqa: E731
    json.dump([{
        "model": MODEL,
        "input_ids": ids,
        "logits": [[round(v, 6) for v in row] for row in int8.tolist()],
        "against_float32": {
            "max_abs_diff": round(float((int8 - full).abs().max()), 4),
            "argmax_changed_rows": changed(int8),
            "weights_only_max_abs_diff": round(float((weights_only - full).abs().max()), 4),
            "weights_only_argmax_changed_rows": changed(weights_only),
            "rows": len(ids),
        },
    }], sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
