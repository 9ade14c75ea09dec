#!/usr/bin/python3
"""Checks the PyTorch reference against the project's golden vectors before it is timed.

* forward.json: the reference's logits on each golden model (fp32: within 1e-4 absolute; bf16: the
  argmax of every row equal, as llada.md section 7 asks of the engine).
* generate.json, the ``llada`` cases (LLaDA's own sampler, fp32 model): the generated ids and the NFE
  equal the golden ones exactly.

    /usr/bin/python3 bench/reference/check_golden.py [--golden src/test/resources/golden]

Prints one line per check and exits 1 if any fails.
"""

import argparse
import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_reference as ref  # noqa: E402


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", default=os.path.join(root, "src", "test", "resources", "golden"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    failures = 0
    models = {}

    def model(name):
        if name not in models:
            config, weights = ref.load_checkpoint(os.path.join(args.golden, name))
            models[name] = (config, ref.LLaDA(config, weights))
        return models[name]

    with open(os.path.join(args.golden, "forward.json"), encoding="utf-8") as f:
        forward_cases = json.load(f)
    with torch.inference_mode():
        for case in forward_cases:
            config, m = model(case["model"])
            ids = torch.tensor([case["input_ids"]], dtype=torch.long)
            got = m(ids)[0].float()
            want = torch.tensor(case["logits"], dtype=torch.float32)
            if m.dtype == torch.float32:
                diff = (got - want).abs().max().item()
                ok = got.shape == want.shape and diff <= 1e-4
                detail = f"max |diff| {diff:.3g} (tolerance 1e-4)"
            else:
                same = (got.argmax(-1) == want.argmax(-1))
                diff = (got - want).abs().max().item()
                ok = got.shape == want.shape and bool(same.all())
                detail = f"argmax equal on {int(same.sum())}/{same.numel()} rows, max |diff| {diff:.3g}"
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} forward  {case['model']} ({str(m.dtype).replace('torch.', '')}, "
                  f"{ids.shape[1]} positions): {detail}")

    with open(os.path.join(args.golden, "generate.json"), encoding="utf-8") as f:
        generate_cases = [c for c in json.load(f) if c.get("schedule") == "llada"]
    with torch.inference_mode():
        for case in generate_cases:
            config, m = model(case["model"])
            p = case["params"]
            prompt = torch.tensor([case["prompt_ids"]], dtype=torch.long)
            counted = ref.Counted(m)
            torch.manual_seed(0)
            out = ref.generate(counted, prompt, steps=p["steps"], gen_length=p["gen_length"],
                               block_length=p["block_length"], temperature=p.get("temperature", 0.0),
                               cfg_scale=p.get("cfg_scale", 0.0), remasking=p.get("remasking", "low_confidence"),
                               mask_id=config["mask_token_id"])
            ids = out[0, prompt.shape[1]:].tolist()
            ok = ids == case["ids"] and counted.calls == case["nfe"]
            failures += not ok
            where = "" if ids == case["ids"] else \
                f"; first difference at {next(i for i, (a, b) in enumerate(zip(ids, case['ids'])) if a != b)}"
            print(f"{'ok  ' if ok else 'FAIL'} generate {case['model']} {case['case']}: "
                  f"{len(ids)} ids {'equal' if ids == case['ids'] else 'DIFFER'}, nfe {counted.calls} "
                  f"(golden {case['nfe']}){where}")

    print(f"check_golden: {'all ' + str(len(forward_cases) + len(generate_cases)) + ' checks passed' if not failures else str(failures) + ' FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
