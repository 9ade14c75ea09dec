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

Each case records, per step, the positions (in the generated part) that took a token, the tokens, and
the positions masked again, as remask's StepEvent has them.

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
            logits = model(x).to(torch.float64)
            p = F.softmax(logits, dim=-1)
            logits[..., mask_id] = -math.inf
            x0 = torch.argmax(logits, dim=-1)
            confidence = torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1)
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
    json.dump(cases, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
