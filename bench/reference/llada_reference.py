#!/usr/bin/python3
"""The peer remask is measured against: LLaDA in plain PyTorch, as a user would run it.

Three parts, each written to compute what the published code computes (the project's LLaDA notes:
checkpoint layout, forward pass with its cast points, sampler):

* ``LLaDA``: the published modelling code's forward pass (RMSNorm up-cast / cast back / times the
  weight; rotate-half RoPE in fp32; bidirectional attention; SwiGLU; ln_f; the LM head over ALL
  positions, as the published model does).
* ``generate``: LLaDA's published sampler (``get_num_transfer_tokens``, ``add_gumbel_noise`` in fp64,
  the semi-autoregressive block loop, low-confidence remasking with a softmax over the full logits,
  top-k per row, classifier-free guidance).
* a command line that loads ``config.json`` + ``model.safetensors`` (a small reader, no safetensors
  package), runs ``generate`` and prints JSON: ``ids`` (the generated part), ``nfe``, ``seconds``
  (median of the timed generations; the model load is not included) and ``seconds_all``.

Needs only torch and the standard library (Debian: ``apt-get install python3-torch``).

    /usr/bin/python3 bench/reference/llada_reference.py --model DIR --prompt-ids 1,2,3 \
        --gen-length 256 --block-length 32 --steps 64 --threads 2 --dtype float32 --repeat 3 --format json
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Checkpoint: config.json and model.safetensors (or the shards of model.safetensors.index.json)
# ---------------------------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def read_safetensors(path, dtype=None):
    """name -> tensor for one safetensors file: 8-byte little-endian header length, JSON header,
    then the data (offsets relative to the end of the header). Converted to ``dtype`` if given."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len).decode("utf-8"))
        data = bytearray(os.fstat(f.fileno()).st_size - 8 - header_len)
        view = memoryview(data)
        got = 0
        while got < len(data):
            n = f.readinto(view[got:])
            if not n:
                raise ValueError(f"{path}: truncated ({got} of {len(data)} data bytes)")
            got += n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        st_dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if st_dtype is None:
            raise ValueError(f"{path}: {name}: unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = math.prod(shape)
        item = torch.tensor([], dtype=st_dtype).element_size()
        if end - begin != count * item:
            raise ValueError(f"{path}: {name}: {end - begin} bytes for shape {shape}")
        t = torch.frombuffer(data, dtype=st_dtype, count=count, offset=begin).view(shape)
        # Own the memory: a copy in the target dtype (the file's bytes are released afterwards).
        tensors[name] = t.to(dtype if dtype is not None else st_dtype, copy=True)
    return tensors


def load_checkpoint(directory, dtype=None):
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        weights = read_safetensors(single, dtype)
    else:
        with open(os.path.join(directory, "model.safetensors.index.json"), encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        weights = {}
        for shard in shards:
            weights.update(read_safetensors(os.path.join(directory, shard), dtype))
    return config, weights


# ---------------------------------------------------------------------------------------------
# The model, as the published modelling code computes it
# ---------------------------------------------------------------------------------------------

class LLaDA:
    """LLaDA's forward pass (llama block type, RMSNorm, RoPE, SwiGLU, no biases, no weight tying)."""

    def __init__(self, config, weights):
        for key, want in (("block_type", "llama"), ("layer_norm_type", "rms"), ("activation_type", "silu")):
            if config.get(key, want) != want:
                raise ValueError(f"unsupported {key}: {config.get(key)}")
        for key in ("include_bias", "alibi", "attention_layer_norm", "input_emb_norm", "scale_logits"):
            if config.get(key, False):
                raise ValueError(f"unsupported: {key} = true")
        self.config = config
        self.d_model = config["d_model"]
        self.n_heads = config["n_heads"]
        self.n_kv_heads = config.get("n_kv_heads") or self.n_heads
        self.head_dim = self.d_model // self.n_heads
        self.eps = config.get("rms_norm_eps", 1e-5)
        self.rope_theta = config.get("rope_theta", 10000.0)
        p = "model.transformer."
        self.wte = weights[p + "wte.weight"]
        self.ln_f = weights[p + "ln_f.weight"]
        self.lm_head = self.wte if config.get("weight_tying", False) else weights[p + "ff_out.weight"]
        self.blocks = []
        for i in range(config["n_layers"]):
            b = f"{p}blocks.{i}."
            self.blocks.append({k: weights[b + k + ".weight"] for k in (
                "attn_norm", "q_proj", "k_proj", "v_proj", "attn_out", "ff_norm", "ff_proj", "up_proj", "ff_out")})
        self.dtype = self.wte.dtype
        self.device = self.wte.device
        self._rope_cache = None

    # RMSLayerNorm: up-cast, normalise, cast back, THEN multiply by the weight in the compute dtype.
    def rms_norm(self, x, weight):
        og_dtype = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        x = x.to(og_dtype)
        return weight * x

    # RotaryEmbedding, rope_full_precision: sin/cos in fp32, cached like the published code's cache.
    def rotary_embedding(self, seq_len):
        cache = self._rope_cache
        if cache is not None and cache[0].shape[-2] >= seq_len:
            return cache[0][:, :, :seq_len, :], cache[1][:, :, :seq_len, :]
        dim = self.head_dim
        inv_freq = 1.0 / (self.rope_theta ** (torch.arange(0, dim, 2, device=self.device, dtype=torch.float) / dim))
        seq = torch.arange(seq_len, device=self.device, dtype=torch.float)
        freqs = torch.einsum("i , j -> i j", seq, inv_freq)
        positions = torch.cat((freqs, freqs), dim=-1)
        pos_sin, pos_cos = positions.sin()[None, None, :, :], positions.cos()[None, None, :, :]
        self._rope_cache = (pos_sin, pos_cos)
        return pos_sin, pos_cos

    @staticmethod
    def rotate_half(x):
        B, nh, T, hs = x.size()
        x = x.view(B, nh, T, 2, hs // 2)
        x1, x2 = x.unbind(dim=-2)
        return torch.cat((-x2, x1), dim=-1)

    def apply_rotary_pos_emb(self, pos_sin, pos_cos, t):
        return ((t * pos_cos) + (self.rotate_half(t) * pos_sin)).to(t.dtype)

    def rope(self, q, k):
        q_, k_ = q.float(), k.float()
        query_len, key_len = q_.shape[-2], k_.shape[-2]
        pos_sin, pos_cos = self.rotary_embedding(key_len)
        pos_sin = pos_sin.type_as(q_)
        pos_cos = pos_cos.type_as(q_)
        q_ = self.apply_rotary_pos_emb(pos_sin[:, :, key_len - query_len:key_len, :],
                                       pos_cos[:, :, key_len - query_len:key_len, :], q_)
        k_ = self.apply_rotary_pos_emb(pos_sin, pos_cos, k_)
        return q_.type_as(q), k_.type_as(k)

    @staticmethod
    def scaled_dot_product_attention(q, k, v):
        sdpa = getattr(F, "scaled_dot_product_attention", None)   # torch >= 2.0, what the published code calls
        if sdpa is not None:
            return sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False)
        # torch 1.x: the same bidirectional attention written out
        scale = 1.0 / math.sqrt(q.size(-1))
        scores = torch.matmul(q, k.transpose(-2, -1)) * scale
        return torch.matmul(torch.softmax(scores, dim=-1), v)

    def attention(self, blk, q, k, v):
        B, T, C = q.size()
        q = q.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)
        k = k.view(B, T, self.n_kv_heads, C // self.n_heads).transpose(1, 2)
        v = v.view(B, T, self.n_kv_heads, C // self.n_heads).transpose(1, 2)
        q, k = self.rope(q, k)
        if self.n_heads != self.n_kv_heads:
            k = k.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
            v = v.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
        att = self.scaled_dot_product_attention(q, k, v)
        att = att.transpose(1, 2).contiguous().view(B, T, C)
        return F.linear(att, blk["attn_out"])

    def block(self, blk, x):
        x_normed = self.rms_norm(x, blk["attn_norm"])
        q = F.linear(x_normed, blk["q_proj"])
        k = F.linear(x_normed, blk["k_proj"])
        v = F.linear(x_normed, blk["v_proj"])
        x = x + self.attention(blk, q, k, v)
        og_x = x
        x = self.rms_norm(x, blk["ff_norm"])
        x, x_up = F.linear(x, blk["ff_proj"]), F.linear(x, blk["up_proj"])
        x = F.silu(x)
        x = x * x_up
        x = F.linear(x, blk["ff_out"])
        return og_x + x

    def __call__(self, input_ids):
        """input_ids [B, T] -> logits [B, T, V] for every position (as the published model)."""
        x = F.embedding(input_ids, self.wte)
        for blk in self.blocks:
            x = self.block(blk, x)
        x = self.rms_norm(x, self.ln_f)
        return F.linear(x, self.lm_head)


# ---------------------------------------------------------------------------------------------
# LLaDA's published sampler (generate.py)
# ---------------------------------------------------------------------------------------------

def add_gumbel_noise(logits, temperature):
    """Gumbel-max in float64 (low precision Gumbel-max hurts generation quality, arXiv:2409.02908)."""
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    gumbel_noise = (- torch.log(noise)) ** temperature
    return logits.exp() / gumbel_noise


def get_num_transfer_tokens(mask_index, steps):
    """How many tokens each step of a block commits: the block's masks spread evenly over the steps,
    the remainder to the first steps."""
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base = mask_num // steps
    remainder = mask_num % steps
    num_transfer_tokens = torch.zeros(mask_num.size(0), steps, device=mask_index.device, dtype=torch.int64) + base
    for i in range(mask_num.size(0)):
        num_transfer_tokens[i, :remainder[i]] += 1
    return num_transfer_tokens


class Counted:
    """Counts model calls (NFE); a classifier-free-guidance step is one call on a batch of two."""

    def __init__(self, model):
        self.model = model
        self.device = model.device
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.model(x)


@torch.no_grad()
def generate(model, prompt, steps=128, gen_length=128, block_length=128, temperature=0.,
             cfg_scale=0., remasking='low_confidence', mask_id=126336):
    """LLaDA's generate: prompt [1, P] -> x [1, P + gen_length]. ``model(x)`` returns the logits."""
    x = torch.full((1, prompt.shape[1] + gen_length), mask_id, dtype=torch.long).to(model.device)
    x[:, :prompt.shape[1]] = prompt.clone()

    prompt_index = (x != mask_id)

    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length

    assert steps % num_blocks == 0
    steps = steps // num_blocks

    for num_block in range(num_blocks):
        block_mask_index = (x[:, prompt.shape[1] + num_block * block_length:
                              prompt.shape[1] + (num_block + 1) * block_length] == mask_id)
        num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps)
        for i in range(steps):
            mask_index = (x == mask_id)
            if cfg_scale > 0.:
                un_x = x.clone()
                un_x[prompt_index] = mask_id
                x_ = torch.cat([x, un_x], dim=0)
                logits = model(x_)
                logits, un_logits = torch.chunk(logits, 2, dim=0)
                logits = un_logits + (cfg_scale + 1) * (logits - un_logits)
            else:
                logits = model(x)

            logits_with_noise = add_gumbel_noise(logits, temperature=temperature)
            x0 = torch.argmax(logits_with_noise, dim=-1)  # b, l

            if remasking == 'low_confidence':
                p = F.softmax(logits, dim=-1)
                x0_p = torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0, -1)), -1)  # b, l
            elif remasking == 'random':
                x0_p = torch.rand((x0.shape[0], x0.shape[1]), device=x0.device)
            else:
                raise NotImplementedError(remasking)

            x0_p[:, prompt.shape[1] + (num_block + 1) * block_length:] = -math.inf

            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -math.inf)

            transfer_index = torch.zeros_like(x0, dtype=torch.bool, device=x0.device)
            for j in range(confidence.shape[0]):
                _, select_index = torch.topk(confidence[j], k=num_transfer_tokens[j, i])
                transfer_index[j, select_index] = True
            x[transfer_index] = x0[transfer_index]

    return x


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def parse_ids(text):
    try:
        ids = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ids: {text!r}")
    if not ids:
        raise argparse.ArgumentTypeError("the prompt is empty")
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(description="LLaDA's published generate on the published forward pass, in PyTorch.")
    ap.add_argument("--model", required=True, help="checkpoint directory (config.json, model.safetensors)")
    ap.add_argument("--prompt-ids", required=True, type=parse_ids, help="the prompt as ids: 5,17,42")
    ap.add_argument("--gen-length", type=int, default=128)
    ap.add_argument("--block-length", type=int, default=None, help="default: the gen length")
    ap.add_argument("--steps", type=int, default=None, help="model calls in all (default: the gen length)")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--cfg-scale", type=float, default=0.0)
    ap.add_argument("--remasking", choices=("low_confidence", "random"), default="low_confidence")
    ap.add_argument("--mask-id", type=int, default=None, help="default: config.json's mask_token_id")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: every processor)")
    ap.add_argument("--dtype", choices=sorted(_DTYPES) + ["auto"], default="auto",
                    help="compute dtype; auto: the checkpoint's own")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before each generation")
    ap.add_argument("--warmup", type=int, default=0, help="untimed generations before the timed ones")
    ap.add_argument("--repeat", type=int, default=1, help="timed generations; seconds is their median")
    ap.add_argument("--format", choices=("json", "text"), default="text")
    args = ap.parse_args(argv)

    gen_length = args.gen_length
    block_length = args.block_length or gen_length
    steps = args.steps or gen_length
    if gen_length <= 0 or block_length <= 0 or gen_length % block_length:
        ap.error(f"--gen-length {gen_length} must be a positive multiple of --block-length {block_length}")
    if steps <= 0 or steps % (gen_length // block_length):
        ap.error(f"--steps {steps} must be a multiple of the number of blocks ({gen_length // block_length})")
    if args.repeat < 1 or args.warmup < 0:
        ap.error("--repeat must be at least 1 and --warmup at least 0")

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    dtype = None if args.dtype == "auto" else _DTYPES[args.dtype]

    t0 = time.perf_counter()
    config, weights = load_checkpoint(args.model, dtype)
    model = LLaDA(config, weights)
    del weights
    load_seconds = time.perf_counter() - t0
    mask_id = args.mask_id if args.mask_id is not None else config["mask_token_id"]
    vocab = config.get("vocab_size", model.lm_head.shape[0])
    if any(i < 0 or i >= vocab for i in args.prompt_ids):
        ap.error(f"prompt ids must lie in [0, {vocab})")
    prompt = torch.tensor([args.prompt_ids], dtype=torch.long)

    counted = Counted(model)
    timings, out, nfe = [], None, 0
    with torch.inference_mode():
        for r in range(args.warmup + args.repeat):
            torch.manual_seed(args.seed)
            counted.calls = 0
            start = time.perf_counter()
            out = generate(counted, prompt, steps=steps, gen_length=gen_length, block_length=block_length,
                           temperature=args.temperature, cfg_scale=args.cfg_scale, remasking=args.remasking,
                           mask_id=mask_id)
            seconds = time.perf_counter() - start
            nfe = counted.calls
            if r >= args.warmup:
                timings.append(seconds)

    ids = out[0, prompt.shape[1]:].tolist()
    seconds = statistics.median(timings)
    result = {
        "ids": ids,
        "nfe": nfe,
        "seconds": seconds,
        "seconds_all": timings,
        "tokens_per_second": gen_length / max(seconds, 1e-9),
        "load_seconds": load_seconds,
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype).replace("torch.", ""),
        "torch": torch.__version__,
        "gen_length": gen_length,
        "block_length": block_length,
        "steps": steps,
    }
    if args.format == "json":
        print(json.dumps(result))
    else:
        print(ids)
        print(f"{gen_length} tokens, {nfe} NFE, {seconds:.3f} s (median of {len(timings)}), "
              f"load {load_seconds:.2f} s, torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"{result['dtype']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
