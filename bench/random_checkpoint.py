#!/usr/bin/env python3
"""Writes a random LLaDA-layout checkpoint (config.json + one model.safetensors), tensor by tensor.

The Python twin of bench's RandomCheckpoint.java, for machines without a JDK (scripts/gpu-bench):
the same config.json fields, tensor names and shapes; weights N(0, 1/fan_in), norm weights 1.0. The
safetensors file is streamed: one tensor at a time is generated (with torch on --device when torch is
importable, else with numpy on the CPU), so host memory stays at about the largest tensor even for the
LLaDA-8B shape (16 GB in bfloat16).

  python3 bench/random_checkpoint.py --out DIR --d-model 4096 --layers 32 --heads 32 --mlp 12288 \\
      --vocab 126464 [--dtype bfloat16|float32] [--device cuda] [--seed 1]
"""
import argparse
import json
import os
import struct
import sys
import time

LLADA_VOCAB, LLADA_MASK_ID, LLADA_EOS_ID = 126464, 126336, 126081


def tensors(d, layers, mlp, vocab):
    """(name, shape, fan_in) in file order; fan_in 0 marks a norm weight (all ones)."""
    out = [("model.transformer.wte.weight", (vocab, d), d)]
    for i in range(layers):
        p = f"model.transformer.blocks.{i}."
        out += [(p + "attn_norm.weight", (d,), 0),
                (p + "q_proj.weight", (d, d), d),
                (p + "k_proj.weight", (d, d), d),
                (p + "v_proj.weight", (d, d), d),
                (p + "attn_out.weight", (d, d), d),
                (p + "ff_norm.weight", (d,), 0),
                (p + "ff_proj.weight", (mlp, d), d),
                (p + "up_proj.weight", (mlp, d), d),
                (p + "ff_out.weight", (d, mlp), mlp)]
    out += [("model.transformer.ln_f.weight", (d,), 0),
            ("model.transformer.ff_out.weight", (vocab, d), d)]
    return out


def config(a, mask_id, eos_id):
    return {
        "architectures": ["LLaDAModelLM"], "model_type": "llada", "block_type": "llama",
        "d_model": a.d_model, "n_layers": a.layers, "n_heads": a.heads, "n_kv_heads": a.heads,
        "mlp_hidden_size": a.mlp, "mlp_ratio": 4, "activation_type": "silu",
        "vocab_size": a.vocab, "embedding_size": a.vocab, "weight_tying": False,
        "include_bias": False, "include_qkv_bias": False, "bias_for_layer_norm": False,
        "layer_norm_type": "rms", "layer_norm_with_affine": True, "rms_norm_eps": 1e-05,
        "rope": True, "rope_theta": 500000.0, "rope_full_precision": True, "alibi": False,
        "attention_layer_norm": False, "input_emb_norm": False, "scale_logits": False,
        "multi_query_attention": False, "clip_qkv": None, "max_sequence_length": a.max_length,
        "flash_attention": False, "attention_dropout": 0.0, "residual_dropout": 0.0,
        "embedding_dropout": 0.0, "mask_token_id": mask_id, "eos_token_id": eos_id,
        "pad_token_id": eos_id, "torch_dtype": a.dtype,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--d-model", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--mlp", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    ap.add_argument("--device", default="cuda", help="where torch draws the numbers (cuda, cpu)")
    ap.add_argument("--max-length", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.d_model % a.heads or (a.d_model // a.heads) % 2:
        sys.exit(f"d_model {a.d_model} must split into {a.heads} heads of even size")
    mask_id, eos_id = (LLADA_MASK_ID, LLADA_EOS_ID) if a.vocab == LLADA_VOCAB else (a.vocab - 1, a.vocab - 2)

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        dev = torch.device(a.device if not a.device.startswith("cuda") or torch.cuda.is_available() else "cpu")
        gen = torch.Generator(device=dev).manual_seed(a.seed)
        tdtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32

        def write(f, shape, fan_in):
            if fan_in == 0:
                t = torch.ones(shape, dtype=tdtype)
            else:
                t = torch.randn(shape, generator=gen, device=dev, dtype=torch.float32)
                t = t.mul_(fan_in ** -0.5).to(tdtype).cpu()
            # bfloat16 has no numpy dtype: its bits go out as int16, little-endian like the host.
            (t.view(torch.int16) if tdtype == torch.bfloat16 else t).numpy().tofile(f)
        backend = f"torch {torch.__version__} on {dev}"
    else:
        import numpy as np
        rng = np.random.default_rng(a.seed)

        def write(f, shape, fan_in):
            if fan_in == 0:
                t = np.ones(shape, dtype=np.float32)
            else:
                t = rng.standard_normal(shape, dtype=np.float32)
                t *= np.float32(fan_in ** -0.5)
            if a.dtype == "bfloat16":  # round to nearest even on the upper 16 bits
                bits = t.view(np.uint32)
                bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
                t = bits.astype(np.uint16)
            t.tofile(f)
        backend = "numpy on the cpu"

    size = 2 if a.dtype == "bfloat16" else 4
    header, offset = {}, 0
    specs = tensors(a.d_model, a.layers, a.mlp, a.vocab)
    for name, shape, _ in specs:
        n = size
        for s in shape:
            n *= s
        header[name] = {"dtype": "BF16" if size == 2 else "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config(a, mask_id, eos_id), f, indent=2)
    started = time.time()
    path = os.path.join(a.out, "model.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, shape, fan_in in specs:
            write(f, shape, fan_in)
    params = offset // size
    print(f"wrote {a.out}: {params:,} parameters, {a.dtype}, {os.path.getsize(path):,} bytes in "
          f"{time.time() - started:.1f} s ({backend})", flush=True)


if __name__ == "__main__":
    main()
