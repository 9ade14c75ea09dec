#!/usr/bin/python3
"""Golden vectors for --dtype int8: the reference forward pass with every linear layer's weight in int8.

The scheme remask's native/src/linear.h runs: each weight W [out, in] quantized symmetrically per output channel
(scale = max |W_row| / 127, zero point 0); each product's input quantized per call, per tensor, asymmetrically
(range [min(x, 0), max(x, 0)], zero point rounded) to 8 bits on a CPU with VNNI and to 7 bits without it (where
oneDNN's int16 sums of uint8 x int8 pairs would saturate); float32 in and out; embedding, norms, RoPE and
attention in float32. The products are computed here exactly, in integers held in float64, not by libtorch's
int8 GEMM, so that the vectors do not depend on the CPU that writes them (libtorch's result matches them within
Int8Test's 1e-4: the 8-bit entry is within 2.9e-6 of the vectors libtorch wrote on a VNNI CPU before, the 7-bit
one is what remask computes on an AVX2-only CPU). The forward is the reference's own (llada_reference.LLaDA),
with its F.linear replaced; the input is forward.json's for tiny-llada-f32. One entry per activation width.

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


def int8_linear(bits):
    levels = (1 << bits) - 1

    def linear(x, w, bias=None):
        low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        scale = (high - low) / levels if high > low else 1.0
        zero = round(-low / scale)
        xq = (torch.round(x / scale) + zero).clamp(0, levels) - zero  # the input in its integer levels
        wq = (w / scales(w)[:, None]).round().clamp(-127, 127)
        y = (xq.double() @ wq.double().t() * scale * scales(w).double()).float()
        return y if bias is None else y + bias
    return linear


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
    weights_only = run(model, ids, dequantized_linear)
    changed = lambda x: int((x.argmax(-1) != full.argmax(-1)).sum())  # noqa: E731
    entries = []
    for bits in (8, 7):
        int8 = run(model, ids, int8_linear(bits))
        entries.append({
            "model": MODEL,
            "activation_bits": bits,
            "input_ids": ids,
            "logits": [[round(v, 6) for v in row] for row in int8.tolist()],
            "against_float32": {
                "max_abs_diff": round(float((int8 - full).abs().max()), 4),
                "argmax_changed_rows": changed(int8),
                "weights_only_max_abs_diff": round(float((weights_only - full).abs().max()), 4),
                "weights_only_argmax_changed_rows": changed(weights_only),
                "rows": len(ids),
            },
        })
    json.dump(entries, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
