#!/usr/bin/python3
"""Golden vectors for the block caches: a step that attends to frozen keys and values, computed plainly.

A cached step (Fast-dLLM's prefix and dual cache) runs the model on positions [begin, end) of the new
sequence only; in every layer its queries attend to the keys and values of all positions, where those of
[begin, end) are computed now and all others were kept from a full forward of the OLD sequence (the one
at the start of the block). This script computes that directly from the reference forward pass
(llada_reference.LLaDA), without any cache: one full pass over the old sequence to get each layer's
keys and values, then the layers over [begin, end) with those keys and values spliced in.

    /usr/bin/python3 bench/reference/cache_golden.py > src/test/resources/golden/cache.json

Needs only torch (Debian: python3-torch). The cases use the golden tiny-llada-f32 model.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_reference as ref  # noqa: E402


def keys_values(model, blk, x, positions):
    """A layer's q, k, v of hidden states x at the given absolute positions, RoPE applied (fp32)."""
    B, T, C = x.shape
    xn = model.rms_norm(x, blk["attn_norm"])
    heads = lambda t: t.view(B, T, -1, model.head_dim).transpose(1, 2)  # noqa: E731
    q, k, v = (heads(F.linear(xn, blk[w])) for w in ("q_proj", "k_proj", "v_proj"))
    pos_sin, pos_cos = model.rotary_embedding(int(positions[-1]) + 1)
    pos_sin, pos_cos = pos_sin[:, :, positions, :], pos_cos[:, :, positions, :]
    q = model.apply_rotary_pos_emb(pos_sin, pos_cos, q.float()).type_as(q)
    k = model.apply_rotary_pos_emb(pos_sin, pos_cos, k.float()).type_as(k)
    return q, k, v


def layer(model, blk, x, q, k, v):
    att = model.scaled_dot_product_attention(q, k, v).transpose(1, 2).contiguous().view(x.shape)
    h = x + F.linear(att, blk["attn_out"])
    y = model.rms_norm(h, blk["ff_norm"])
    return h + F.linear(F.silu(F.linear(y, blk["ff_proj"])) * F.linear(y, blk["up_proj"]), blk["ff_out"])


@torch.no_grad()
def frozen_step(model, old, new, begin, end):
    """Logits of positions [begin, end) of `new` attending to `old`'s keys and values elsewhere."""
    T = old.shape[1]
    kept = []
    x = F.embedding(old, model.wte)
    for blk in model.blocks:
        q, k, v = keys_values(model, blk, x, torch.arange(T))
        kept.append((k, v))
        x = layer(model, blk, x, q, k, v)
    x = F.embedding(new[:, begin:end], model.wte)
    for blk, (k_old, v_old) in zip(model.blocks, kept):
        q, k, v = keys_values(model, blk, x, torch.arange(begin, end))
        k_all, v_all = k_old.clone(), v_old.clone()
        k_all[:, :, begin:end], v_all[:, :, begin:end] = k, v
        x = layer(model, blk, x, q, k_all, v_all)
    return F.linear(model.rms_norm(x, model.ln_f), model.lm_head)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    golden = os.path.join(root, "src", "test", "resources", "golden")
    torch.set_num_threads(1)
    config, weights = ref.load_checkpoint(os.path.join(golden, "tiny-llada-f32"))
    model = ref.LLaDA(config, weights)
    mask = config["mask_token_id"]
    prompt = [40, 136, 275, 23, 295, 319, 288, 106, 174, 164]     # then 13 masked positions: blocks of 4 from 10
    old = prompt + [5, 194, 242, 30] + [mask] * 9                # the first block done, the second just started
    new = list(old)
    new[15], new[17] = 65, 240                                   # two of the second block's tokens committed since
    cases = []
    for mode, begin, end in (("prefix", 14, 23), ("dual", 14, 18)):
        logits = frozen_step(model, torch.tensor([old]), torch.tensor([new]), begin, end)[0]
        cases.append({"model": "tiny-llada-f32", "mode": mode, "old_ids": old, "new_ids": new, "begin": begin,
                      "end": end, "block_begin": 14, "block_end": 18,
                      "logits": logits[: 18 - begin].tolist()})   # the block's rows
    json.dump(cases, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
