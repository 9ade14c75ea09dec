#!/usr/bin/python3
"""Golden vectors for the revision rules (remask --revise), from the published code, in plain PyTorch.

* ``rcr``: running-confidence remasking as autonomousvision/mdpo's ``diffusion_generate(..., rcr=True)``
  (``src/mdlm_generation_utils.py``) computes it: each step fills every masked position of the block
  with its prediction and records the prediction's confidence (``overtime_confidence``); unless it is
  the block's last step, it then masks again the positions of lowest recorded confidence, as many as
  the later steps will commit. The count per step is LLaDA's (``get_num_transfer_tokens``), as remask's
  llada schedule gives it. Two deliberate differences from mdpo's code: the lowest confidences are
  looked for in the current block only (mdpo's ranks the whole sequence, so with several blocks it can
  mask an earlier block's token again: the same with one block), and ties go to the lower position
  (torch.topk leaves their order open). The mask id is never a prediction, as in remask.

* ``wino``: wide-in, narrow-out as Feng-Hong/WINO-DLLM's ``decoding_wino`` (``LLaDA/decoding.py``)
  computes it: the sequence carries a shadow copy of the current block, all masks, at the block's
  RoPE positions; a shadow position attends to everything but its own original position (the
  modelling code's ``position_ids`` and 4-D ``attention_mask``), so its probability of the token
  committed there is the model's belief in that token with the token hidden. Each step drafts the
  masked positions above the wide threshold (capped at min(max(int(masked * 0.7), 5), 20), at least
  the most confident) and, after a draft of more than one, masks again the committed positions whose
  shadow probability is below the narrow threshold (the previous draft minus one of them at most, the
  least probable, when there are as many as that draft). Differences from the published code: ties go
  to the lower position, the mask id is never a prediction, and from a block's step ``block_length``
  on the verify is off, so that every block finishes (the published loop has no such bound; these
  cases never reach it).

* ``remdm``: ReMDM (kuleshov-group/remdm, ``diffusion.py``) adapted to LLaDA's block schedule as remask
  runs it. ``conf`` (remdm-conf): each step, every committed position of the block goes back to the mask
  when a uniform draw is below softmax over the committed positions of minus their confidence (from when
  they committed) times min(sigma_max, (1 - alpha_s) / alpha_t), alpha being the block's unmasked
  fraction before and after the step's schedule count; then that count plus one per position masked again
  commit by confidence, so the masked count follows the schedule. ``loop`` (remdm-loop): the block's
  steps are a time grid t = 1 - i / S; until t_on the unmasked fraction rises to alpha_on, in (t_off,
  t_on] each committed position goes back with probability eta and as many commit, then it rises to 1.
  ReMDM samples with torch's generator; here the draws are remask's counter-based noise (splitmix64 and
  lowbias32, written out below) at (seed, model call, position, vocab + 1), so that they can be replayed.
  The published code's carry-over of committed tokens (its SUBS model predicts them back) is remask's:
  a committed token stays unless it is masked again.

* ``edit``: token-to-token editing as SGLang's ``JointThreshold`` runs it for LLaDA 2.1 (mask-to-token,
  token-to-token, a post-fill edit phase), with LLaDA's block schedule for the masked positions: each step
  commits the schedule's count of masked positions by confidence and gives every position of the block that
  held a token before the step the prediction there where that differs and its probability is above the edit
  threshold (JointThreshold compares log p > log threshold); once the block holds no mask, up to
  ``edit_steps`` more model calls only edit, ending after one that changes nothing. Differences from
  JointThreshold: the masked positions follow LLaDA's counts instead of a threshold, ties go to the lower
  position, and the mask id is never a prediction.

Each case records, per step, the positions (in the generated part) that took a token, the tokens, the
positions masked again, and (edit) the positions among them that held a token, as remask's StepEvent has them.

    /usr/bin/python3 bench/reference/revision_golden.py > src/test/resources/golden/revise.json

Needs only torch (Debian: python3-torch). The cases use the golden tiny-llada-f32 model.
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_reference as ref  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "src", "test", "resources", "golden")


def predictions(model, x, mask_id):
    """The model's prediction at every position (the mask id never) and its probability, in float64."""
    logits = model(x).to(torch.float64)
    p = F.softmax(logits, dim=-1)
    logits[..., mask_id] = -math.inf
    x0 = torch.argmax(logits, dim=-1)
    return x0, torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1)


@torch.no_grad()
def generate_rcr(model, prompt, steps, gen_length, block_length, mask_id):
    P = prompt.shape[1]
    x = torch.full((1, P + gen_length), mask_id, dtype=torch.long)
    x[:, :P] = prompt
    overtime_confidence = torch.zeros_like(x, dtype=torch.float64)
    num_blocks = gen_length // block_length
    steps_per_block = steps // num_blocks
    trace = []
    for num_block in range(num_blocks):
        begin, end = P + num_block * block_length, P + (num_block + 1) * block_length
        num_transfer_tokens = ref.get_num_transfer_tokens(x[:, begin:end] == mask_id, steps_per_block)
        for i in range(steps_per_block):
            before = x.clone()
            mask_index = x == mask_id
            x0, confidence = predictions(model, x, mask_id)
            confidence[:, end:] = -math.inf
            confidence = torch.where(mask_index, confidence, torch.tensor(-math.inf, dtype=torch.float64))
            # Fill every masked position of the block and record its confidence.
            fill = mask_index.clone()
            fill[:, :begin] = False
            fill[:, end:] = False
            x[fill] = x0[fill]
            overtime_confidence[fill] = confidence[fill]
            if i != steps_per_block - 1:
                remask = int(num_transfer_tokens[0, i + 1:].sum())
                block = overtime_confidence[0, begin:end]
                # Lowest first; among equals the higher position goes first, so ties keep the lower one.
                order = sorted(range(block_length), key=lambda j: (block[j].item(), -j))
                for j in order[:remask]:
                    x[0, begin + j] = mask_id
            added = [j for j in range(begin, end) if before[0, j] == mask_id and x[0, j] != mask_id]
            dropped = [j for j in range(begin, end) if before[0, j] != mask_id and x[0, j] == mask_id]
            trace.append({"positions": [j - P for j in added], "tokens": [int(x[0, j]) for j in added],
                          "remasked": [j - P for j in dropped]})
    return x[0, P:].tolist(), trace


class ShadowLLaDA(ref.LLaDA):
    """The reference forward with WINO's two extra inputs: per-position RoPE positions and a [T, T] boolean
    attention mask (True: the query may attend to the key), as WINO's modelling code takes them."""

    positions = None
    allowed = None

    def rope(self, q, k):
        dim = self.head_dim
        inv_freq = 1.0 / (self.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        freqs = torch.einsum("i , j -> i j", self.positions.float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        pos_sin, pos_cos = emb.sin()[None, None], emb.cos()[None, None]
        return (self.apply_rotary_pos_emb(pos_sin, pos_cos, q.float()).type_as(q),
                self.apply_rotary_pos_emb(pos_sin, pos_cos, k.float()).type_as(k))

    def scaled_dot_product_attention(self, q, k, v):
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
        scores = scores.masked_fill(~self.allowed, -math.inf)
        return torch.matmul(torch.softmax(scores, dim=-1), v)


@torch.no_grad()
def generate_wino(model, prompt, gen_length, block_length, mask_id, threshold, threshold_back):
    P, B = prompt.shape[1], block_length
    x_block = torch.full((1, P + gen_length + B), mask_id, dtype=torch.long)
    x_block[:, :P] = prompt
    trace = []
    for num_block in range(gen_length // B):
        begin, end = P + num_block * B, P + (num_block + 1) * B
        mask_index_block = x_block == mask_id
        mask_index_block[:, end:] = False
        unmask_index_block = torch.full_like(mask_index_block, False)
        unmask_index_block[:, -B:] = ~mask_index_block[:, begin:end]
        model.positions = torch.cat([torch.arange(P + gen_length), torch.arange(begin, end)])
        allowed = torch.ones(x_block.shape[1], x_block.shape[1], dtype=torch.bool)
        allowed[:, -B:] = False
        allowed[-B:, -B:] = True
        allowed[-B:, begin:end] = ~torch.eye(B, dtype=torch.bool)
        model.allowed = allowed
        last_accept = 30
        block_step = 0
        while mask_index_block.any():
            before = x_block.clone()
            max_accept = min(max(int(mask_index_block.sum() * 0.7), 5), 20)
            logits = model(x_block).to(torch.float64)
            p = F.softmax(logits, dim=-1)
            logits[..., mask_id] = -math.inf
            x0 = torch.argmax(logits, dim=-1)
            shift_left = torch.zeros_like(unmask_index_block)
            shift_left[:, begin:end] = unmask_index_block[:, -B:]
            x0[unmask_index_block] = x_block[shift_left]
            x0_p = torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1)
            x0 = torch.where(mask_index_block, x0, x_block)
            confidence = torch.where(mask_index_block, x0_p, torch.tensor(-math.inf, dtype=torch.float64))
            confidence_back = torch.where(unmask_index_block, x0_p, torch.tensor(math.inf, dtype=torch.float64))
            transfer_index = confidence > threshold
            if transfer_index.sum() > max_accept or not transfer_index.any():
                take = max_accept if transfer_index.any() else 1
                order = sorted(range(confidence.shape[1]), key=lambda j: (-confidence[0, j].item(), j))
                transfer_index = torch.zeros_like(transfer_index)
                transfer_index[0, order[:take]] = True
            x_block[transfer_index] = x0[transfer_index]
            num_accept = int(transfer_index.sum())
            narrow = threshold_back if block_step < B else 0.0  # the bound that makes every block finish
            remask_index = torch.zeros_like(transfer_index)
            if num_accept > 1:
                remask_index = confidence_back < narrow
                if remask_index.sum() >= last_accept:
                    order = sorted(range(confidence_back.shape[1]), key=lambda j: (confidence_back[0, j].item(), j))
                    remask_index = torch.zeros_like(remask_index)
                    remask_index[0, order[:last_accept - 1]] = True
            remask_shift = torch.zeros_like(remask_index)
            remask_shift[:, begin:end] = remask_index[:, -B:]
            x_block[remask_shift] = mask_id
            mask_index_block[transfer_index] = False
            mask_index_block[remask_shift] = True
            transfer_shift = torch.zeros_like(transfer_index)
            transfer_shift[:, -B:] = transfer_index[:, begin:end]
            unmask_index_block[transfer_shift] = True
            unmask_index_block[remask_index] = False
            last_accept = num_accept
            block_step += 1
            added = [j for j in range(begin, end) if before[0, j] == mask_id and x_block[0, j] != mask_id]
            dropped = [j for j in range(begin, end) if before[0, j] != mask_id and x_block[0, j] == mask_id]
            trace.append({"positions": [j - P for j in added], "tokens": [int(x_block[0, j]) for j in added],
                          "remasked": [j - P for j in dropped]})
    return x_block[0, P:P + gen_length].tolist(), trace


M64, M32 = (1 << 64) - 1, (1 << 32) - 1


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def row_key(seed, step, row):
    return mix64((mix64(seed ^ mix64(step)) + row * 0xD1B54A32D192ED03) & M64) & M32


def uniform(key, index):
    x = key ^ (((index & M32) * 0x9E3779B9) & M32)
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return ((x >> 8) + 0.5) / 16777216.0


@torch.no_grad()
def generate_remdm(model, prompt, steps, gen_length, block_length, mask_id, vocab, strategy, seed=0,
                   sigma_max=1.0, eta=0.02, t_on=0.55, t_off=0.05, alpha_on=0.9):
    P, n = prompt.shape[1], block_length
    x = torch.full((1, P + gen_length), mask_id, dtype=torch.long)
    x[:, :P] = prompt
    stored = {}  # position -> confidence (float32) from when it committed
    S = steps // (gen_length // n)
    trace, nfe = [], 0
    for num_block in range(gen_length // n):
        begin = P + num_block * n
        counts = ref.get_num_transfer_tokens(x[:, begin:begin + n] == mask_id, S)[0].tolist()
        remaining = n
        for i in range(S):
            if remaining == 0:
                break
            logits = model(x).to(torch.float64)[0]
            p = F.softmax(logits, dim=-1)
            logits[:, mask_id] = -math.inf
            x0 = torch.argmax(logits, dim=-1)
            confidence = torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1).float()
            masked = [j for j in range(n) if x[0, begin + j] == mask_id]
            kept = [j for j in range(n) if x[0, begin + j] != mask_id]
            if strategy == "conf":
                k = counts[i]
                t_now, s_next = len(masked) / n, (len(masked) - min(k, len(masked))) / n
                alpha_t, alpha_s = 1 - t_now, 1 - s_next
                scale = min(sigma_max, (1 - alpha_s) / alpha_t) if alpha_t > 0 else sigma_max
                shift = min((stored[j] for j in kept), default=0.0)
                total = sum(math.exp(-(stored[j] - shift)) for j in kept)
                sigma = {j: scale * math.exp(-(stored[j] - shift)) / total for j in kept}
            else:
                nxt = 1 - (i + 1) / S
                frac = (1 - (1 - nxt) * alpha_on / (1 - t_on) if nxt >= t_on
                        else 1 - alpha_on if nxt > t_off else nxt * (1 - alpha_on) / t_off)
                k = max(0, remaining - math.floor(n * frac + 0.5))
                t = 1 - i / S
                sigma = {j: eta if t_off < t <= t_on and i < S - 1 else 0.0 for j in kept}
            dropped = [j for j in kept if uniform(row_key(seed, nfe, j), vocab + 1) < sigma[j]]
            for j in dropped:
                x[0, begin + j] = mask_id
            take = min(k + len(dropped), len(masked)) if k + len(dropped) > 0 else 0
            chosen = sorted(sorted(masked, key=lambda j: (-confidence[begin + j].item(), j))[:take])
            for j in chosen:
                x[0, begin + j] = x0[begin + j]
                stored[j] = confidence[begin + j].item()
            remaining -= len(chosen) - len(dropped)
            trace.append({"positions": [begin + j - P for j in chosen],
                          "tokens": [int(x0[begin + j]) for j in chosen],
                          "remasked": [begin + j - P for j in dropped]})
            nfe += 1
    return x[0, P:].tolist(), trace


@torch.no_grad()
def generate_edit(model, prompt, steps, gen_length, block_length, mask_id, edit_threshold, edit_steps):
    P = prompt.shape[1]
    x = torch.full((1, P + gen_length), mask_id, dtype=torch.long)
    x[:, :P] = prompt
    num_blocks = gen_length // block_length
    steps_per_block = steps // num_blocks
    trace = []
    for num_block in range(num_blocks):
        begin, end = P + num_block * block_length, P + (num_block + 1) * block_length
        num_transfer_tokens = ref.get_num_transfer_tokens(x[:, begin:end] == mask_id, steps_per_block)
        step, post_edits = 0, 0
        while True:
            filling = bool((x[0, begin:end] == mask_id).any())
            if not filling and post_edits >= edit_steps:
                break
            before = x.clone()
            x0, confidence = predictions(model, x, mask_id)
            edited = [j for j in range(begin, end) if before[0, j] != mask_id and x0[0, j] != before[0, j]
                      and confidence[0, j] > edit_threshold]
            for j in edited:
                x[0, j] = x0[0, j]
            added = []
            if filling:
                count = int(num_transfer_tokens[0, step])
                masked = [j for j in range(begin, end) if before[0, j] == mask_id]
                added = sorted(masked, key=lambda j: (-confidence[0, j].item(), j))[:count]
                for j in added:
                    x[0, j] = x0[0, j]
                step += 1
            else:
                post_edits += 1
            took = sorted(edited + added)
            trace.append({"positions": [j - P for j in took], "tokens": [int(x[0, j]) for j in took],
                          "remasked": [], "edited": [j - P for j in edited]})
            if not filling and not edited:
                break
    return x[0, P:].tolist(), trace


def main():
    config, weights = ref.load_checkpoint(os.path.join(GOLDEN, "tiny-llada-f32"))
    model = ref.LLaDA(config, weights)
    mask_id = config["mask_token_id"]
    cases = []
    for name, prompt, gen_length, block_length, steps in [
        ("rcr-1block", [90, 16, 75, 297, 45, 54, 130], 16, 16, 8),
        ("rcr-1block-4steps", [12, 250, 33, 7, 181], 24, 24, 4),
        ("rcr-2blocks", [90, 16, 75, 297, 45, 54, 130], 32, 16, 8),
        ("rcr-2blocks-16steps", [12, 250, 33, 7, 181], 32, 16, 16),
    ]:
        ids, trace = generate_rcr(model, torch.tensor([prompt]), steps, gen_length, block_length, mask_id)
        cases.append({"model": "tiny-llada-f32", "case": name, "revise": "rcr", "schedule": "llada",
                      "params": {"steps": steps, "gen_length": gen_length, "block_length": block_length,
                                 "temperature": 0.0, "remasking": "low_confidence"},
                      "prompt_ids": prompt, "ids": ids, "nfe": len(trace), "steps": trace})
    shadow = ShadowLLaDA(config, weights)
    for name, prompt, gen_length, block_length, wide, narrow in [
        ("wino-1block", [90, 16, 75, 297, 45, 54, 130], 16, 16, 0.6, 0.9),
        ("wino-2blocks", [12, 250, 33, 7, 181], 32, 16, 0.6, 0.9),
        ("wino-1block-low", [90, 16, 75, 297, 45, 54, 130], 16, 16, 0.2, 0.5),
    ]:
        ids, trace = generate_wino(shadow, torch.tensor([prompt]), gen_length, block_length, mask_id, wide, narrow)
        cases.append({"model": "tiny-llada-f32", "case": name, "revise": "wino",
                      "params": {"gen_length": gen_length, "block_length": block_length, "wide": wide,
                                 "narrow": narrow, "temperature": 0.0},
                      "prompt_ids": prompt, "ids": ids, "nfe": len(trace), "steps": trace})
    vocab = config["vocab_size"]
    for name, prompt, gen_length, block_length, steps, strategy, extra in [
        ("remdm-conf-1block", [90, 16, 75, 297, 45, 54, 130], 16, 16, 8, "conf", {}),
        ("remdm-conf-2blocks", [12, 250, 33, 7, 181], 32, 16, 16, "conf", {"seed": 3}),
        ("remdm-loop-1block", [90, 16, 75, 297, 45, 54, 130], 16, 16, 16, "loop", {"eta": 0.3}),
    ]:
        ids, trace = generate_remdm(model, torch.tensor([prompt]), steps, gen_length, block_length, mask_id, vocab,
                                    strategy, **extra)
        params = {"steps": steps, "gen_length": gen_length, "block_length": block_length, "temperature": 0.0,
                  "remasking": "low_confidence", "strategy": strategy}
        params.update(extra)
        cases.append({"model": "tiny-llada-f32", "case": name, "revise": "remdm", "schedule": "llada",
                      "params": params, "prompt_ids": prompt, "ids": ids, "nfe": len(trace), "steps": trace})
    for name, prompt, gen_length, block_length, steps, edit_threshold, edit_steps in [
        ("edit-1block", [90, 16, 75, 297, 45, 54, 130], 16, 16, 8, 0.0, 16),
        ("edit-2blocks", [12, 250, 33, 7, 181], 32, 16, 16, 0.1, 4),
        ("edit-2blocks-quiet", [12, 250, 33, 7, 181], 32, 16, 16, 0.8, 16),
    ]:
        ids, trace = generate_edit(model, torch.tensor([prompt]), steps, gen_length, block_length, mask_id,
                                   edit_threshold, edit_steps)
        cases.append({"model": "tiny-llada-f32", "case": name, "revise": "edit", "schedule": "llada",
                      "params": {"steps": steps, "gen_length": gen_length, "block_length": block_length,
                                 "temperature": 0.0, "remasking": "low_confidence", "edit_threshold": edit_threshold,
                                 "edit_steps": edit_steps},
                      "prompt_ids": prompt, "ids": ids, "nfe": len(trace), "steps": trace})
    json.dump(cases, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
