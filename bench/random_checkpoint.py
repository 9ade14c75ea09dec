#!/usr/bin/env python3
"""Writes a random checkpoint (config.json + one model.safetensors) of one family's layout, tensor by tensor.

The Python twin of bench's RandomCheckpoint.java, for machines without a JDK (scripts/gpu-bench):
the same families and their published shapes, config.json fields, tensor names and shapes (and the MoEs'
tokenizer.json of added tokens); weights N(0, 1/fan_in) (the MoEs' embeddings N(0, 1)), norm weights 1.0,
biases 0.0. The safetensors file is streamed: one tensor at a time is generated (with torch on --device when
torch is importable, else with numpy on the CPU), so host memory stays at about the largest tensor even for
the LLaDA-8B shape (16 GB in bfloat16). Sizes not given are the family's published model's.

  python3 bench/random_checkpoint.py --out DIR --d-model 4096 --layers 32 --heads 32 --mlp 12288 \\
      --vocab 126464 [--dtype bfloat16|float32] [--device cuda] [--seed 1]
  python3 bench/random_checkpoint.py --out DIR --family llada2 [--layers 20]
  python3 bench/random_checkpoint.py ... --word-tokenizer   (also a tokenizer over every id: scripts/bench-serve)
"""
import argparse
import json
import math
import os
import struct
import sys
import time

# Each family's published model (RandomCheckpoint.Family): its shape (d_model, layers, heads, kv heads, dense
# SwiGLU, experts, top-k, expert SwiGLU, shared expert SwiGLU, first dense layers), vocabulary, mask, eos, max length.
FAMILIES = {
    "llada": ("LLaDAModelLM", (4096, 32, 32, 32, 12288, 0, 0, 0, 0, 0), 126464, 126336, 126081, 4096),
    "dream": ("DreamModel", (3584, 28, 28, 4, 18944, 0, 0, 0, 0, 0), 152064, 151666, 151643, 131072),
    "lladamoe": ("LLaDAMoEModelLM", (2048, 16, 16, 16, 8192, 64, 8, 1024, 0, 0), 157184, 156895, 156892, 8192),
    "llada2": ("LLaDA2MoeModelLM", (2048, 20, 16, 4, 5120, 256, 8, 512, 512, 1), 157184, 156895, 156892, 16384),
}


def tensors(a):
    """(name, shape, fan_in, value) in file order; fan_in 0 marks a constant tensor of value (norms 1, biases 0)."""
    d, hd, layers, mlp = a.d_model, a.d_model // a.heads, a.layers, a.mlp
    q, kv = a.heads * hd, a.kv_heads * hd
    if a.family == "llada":
        out = [("model.transformer.wte.weight", (a.vocab, d), d, 0)]
        for i in range(layers):
            p = f"model.transformer.blocks.{i}."
            out += [(p + "attn_norm.weight", (d,), 0, 1),
                    (p + "q_proj.weight", (d, d), d, 0),
                    (p + "k_proj.weight", (d, d), d, 0),
                    (p + "v_proj.weight", (d, d), d, 0),
                    (p + "attn_out.weight", (d, d), d, 0),
                    (p + "ff_norm.weight", (d,), 0, 1),
                    (p + "ff_proj.weight", (mlp, d), d, 0),
                    (p + "up_proj.weight", (mlp, d), d, 0),
                    (p + "ff_out.weight", (d, mlp), mlp, 0)]
        return out + [("model.transformer.ln_f.weight", (d,), 0, 1),
                      ("model.transformer.ff_out.weight", (a.vocab, d), d, 0)]

    def swiglu(prefix, hidden):
        return [(prefix + "gate_proj.weight", (hidden, d), d, 0), (prefix + "up_proj.weight", (hidden, d), d, 0),
                (prefix + "down_proj.weight", (d, hidden), hidden, 0)]
    ling = a.family == "llada2"
    # The MoEs' embedding rows are N(0, 1), so that the random router spreads the tokens as a trained one does.
    out = [("model.word_embeddings.weight" if ling else "model.embed_tokens.weight", (a.vocab, d), 1 if a.experts else d, 0)]
    for i in range(layers):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", (d,), 0, 1))
        if ling:
            out += [(p + "attention.query_key_value.weight", (q + 2 * kv, d), d, 0),
                    (p + "attention.query_layernorm.weight", (hd,), 0, 1),
                    (p + "attention.key_layernorm.weight", (hd,), 0, 1),
                    (p + "attention.dense.weight", (d, q), q, 0)]
        else:
            for name, rows in (("q", q), ("k", kv), ("v", kv)):
                out.append((p + f"self_attn.{name}_proj.weight", (rows, d), d, 0))
                if a.family == "dream":
                    out.append((p + f"self_attn.{name}_proj.bias", (rows,), 0, 0))
            if a.family == "lladamoe":
                out += [(p + "self_attn.q_norm.weight", (hd,), 0, 1), (p + "self_attn.k_norm.weight", (hd,), 0, 1)]
            out.append((p + "self_attn.o_proj.weight", (d, q), q, 0))
        out.append((p + "post_attention_layernorm.weight", (d,), 0, 1))
        if not a.experts or i < a.dense_layers:
            out += swiglu(p + "mlp.", mlp)
            continue
        out.append((p + "mlp.gate.weight", (a.experts, d), d, 0))
        if ling:
            out.append((p + "mlp.gate.expert_bias", (a.experts,), 0, 0))
        for e in range(a.experts):
            out += swiglu(p + f"mlp.experts.{e}.", a.expert_mlp)
        if a.shared_mlp:
            out += swiglu(p + "mlp.shared_experts.", a.shared_mlp)
    return out + [("model.norm.weight", (d,), 0, 1), ("lm_head.weight", (a.vocab, d), d, 0)]


def config(a, mask_id, eos_id):
    if a.family == "llada":
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
    c = {"architectures": [FAMILIES[a.family][0]]}
    if a.family == "dream":
        c.update({"model_type": "Dream", "bos_token_id": eos_id, "eos_token_id": eos_id, "pad_token_id": eos_id,
                  "mask_token_id": mask_id, "intermediate_size": a.mlp, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                  "use_mrope": False, "use_sliding_window": False, "sliding_window": None})
    elif a.family == "lladamoe":
        c.update({"model_type": "llada", "eos_token_id": eos_id, "pad_token_id": eos_id,
                  "dense_intermediate_size": a.mlp, "expert_intermediate_size": a.expert_mlp,
                  "shared_expert_intermediate_size": None, "num_experts": a.experts,
                  "num_experts_per_tok": a.experts_per_token, "moe_layer_freq": [1] * a.layers,
                  "moe_router_enable_expert_bias": False, "moe_router_score_function": "softmax",
                  "norm_topk_prob": False, "qk_layernorm": True, "partial_rotary_factor": 1.0, "attention_bias": False,
                  "clip_qkv": None, "rms_norm_eps": 1e-05, "rope_theta": 50000})
    else:
        c.update({"model_type": "llada2_moe", "pad_token_id": eos_id, "head_dim": a.d_model // a.heads,
                  "intermediate_size": a.mlp, "first_k_dense_replace": a.dense_layers,
                  "moe_intermediate_size": a.expert_mlp, "num_experts": a.experts,
                  "num_experts_per_tok": a.experts_per_token, "num_shared_experts": a.shared_mlp // a.expert_mlp,
                  "n_group": 8, "topk_group": 4, "routed_scaling_factor": 2.5, "score_function": "sigmoid",
                  "moe_router_enable_expert_bias": True, "use_qk_norm": True, "use_qkv_bias": False, "use_bias": False,
                  "partial_rotary_factor": 0.5, "rms_norm_eps": 1e-06, "rope_theta": 600000})
    c.update({"hidden_size": a.d_model, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
              "num_key_value_heads": a.kv_heads, "vocab_size": a.vocab, "max_position_embeddings": a.max_length,
              "hidden_act": "silu", "rope_scaling": None, "tie_word_embeddings": False, "torch_dtype": a.dtype})
    return c


def added_tokens(mask_id, eos_id):
    """tokenizer.json with only the added tokens the engine reads the MoEs' end-of-text and mask ids from."""
    token = {"single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {"added_tokens": [dict(id=eos_id, content="<|endoftext|>", **token),
                             dict(id=mask_id, content="<|mask|>", **token)]}


def word_tokenizer(vocab, mask_id, eos_id):
    """tokenizer.json of a word-level vocabulary over every id ("t<id>", the end-of-text and mask ids as special
    tokens), so that text endpoints (remask serve) run on the random checkpoint; its text means nothing."""
    words = {f"t{i}": i for i in range(vocab) if i not in (mask_id, eos_id)}
    special = added_tokens(mask_id, eos_id)
    for token in special["added_tokens"]:
        words[token["content"]] = token["id"]
    return {"version": "1.0", "truncation": None, "padding": None, **special, "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None, "decoder": None,
            "model": {"type": "WordLevel", "vocab": words, "unk_token": "t0"}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--family", choices=sorted(FAMILIES), default="llada")
    ap.add_argument("--d-model", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int, help="the key/value heads follow in the published model's proportion")
    ap.add_argument("--mlp", type=int, help="the dense SwiGLU's width")
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    ap.add_argument("--device", default="cuda", help="where torch draws the numbers (cuda, cpu)")
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--print-bytes", action="store_true", help="print the weights' size in bytes and write nothing")
    ap.add_argument("--word-tokenizer", action="store_true",
                    help="also write a word-level tokenizer.json over the whole vocabulary (for remask serve)")
    a = ap.parse_args()
    _, real, vocab, mask, eos, max_length = FAMILIES[a.family]
    heads, kv_heads = real[2], real[3]
    a.d_model, a.layers, a.heads, a.mlp = (given or default for given, default in
                                           zip((a.d_model, a.layers, a.heads, a.mlp), (real[0], real[1], heads, real[4])))
    a.kv_heads = max(1, a.heads * kv_heads // heads)
    a.experts, a.experts_per_token, a.expert_mlp, a.shared_mlp, a.dense_layers = real[5:]
    a.vocab, a.max_length = a.vocab or vocab, a.max_length or max_length
    if a.d_model % a.heads or (a.d_model // a.heads) % 2 or a.heads % a.kv_heads:
        sys.exit(f"d_model {a.d_model} must split into {a.heads} heads of even size, {a.kv_heads} kv heads dividing them")
    mask_id, eos_id = (mask, eos) if a.vocab == vocab else (a.vocab - 1, a.vocab - 2)
    size = 2 if a.dtype == "bfloat16" else 4
    specs = tensors(a)
    if a.print_bytes:
        print(sum(size * math.prod(shape) for _, shape, _, _ in specs))
        return

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        dev = torch.device(a.device if not a.device.startswith("cuda") or torch.cuda.is_available() else "cpu")
        gen = torch.Generator(device=dev).manual_seed(a.seed)
        tdtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32

        def write(f, shape, fan_in, value):
            if fan_in == 0:
                t = torch.full(shape, float(value), dtype=tdtype)
            else:
                t = torch.randn(shape, generator=gen, device=dev, dtype=torch.float32)
                t = t.mul_(fan_in ** -0.5).to(tdtype).cpu()
            # bfloat16 has no numpy dtype: its bits go out as int16, little-endian like the host.
            (t.view(torch.int16) if tdtype == torch.bfloat16 else t).numpy().tofile(f)
        backend = f"torch {torch.__version__} on {dev}"
    else:
        import numpy as np
        rng = np.random.default_rng(a.seed)

        def write(f, shape, fan_in, value):
            if fan_in == 0:
                t = np.full(shape, value, dtype=np.float32)
            else:
                t = rng.standard_normal(shape, dtype=np.float32)
                t *= np.float32(fan_in ** -0.5)
            if a.dtype == "bfloat16":  # round to nearest even on the upper 16 bits
                bits = t.view(np.uint32)
                bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
                t = bits.astype(np.uint16)
            t.tofile(f)
        backend = "numpy on the cpu"

    header, offset = {}, 0
    for name, shape, _, _ in specs:
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
    if a.word_tokenizer:
        with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
            json.dump(word_tokenizer(a.vocab, mask_id, eos_id), f)
        with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
            json.dump({"eos_token": "<|endoftext|>"}, f)
    elif a.family in ("lladamoe", "llada2"):
        with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
            json.dump(added_tokens(mask_id, eos_id), f, indent=2)
    started = time.time()
    path = os.path.join(a.out, "model.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, shape, fan_in, value in specs:
            write(f, shape, fan_in, value)
    params = offset // size
    print(f"wrote {a.out}: {params:,} parameters, {a.dtype}, {os.path.getsize(path):,} bytes in "
          f"{time.time() - started:.1f} s ({backend})", flush=True)


if __name__ == "__main__":
    main()
