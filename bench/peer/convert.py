#!/usr/bin/env python3
"""Converts a random LLaDA checkpoint (bench/random_checkpoint.py: config.json + model.safetensors, no tokenizer)
to GGUF with llama.cpp's own convert_hf_to_gguf.py, for scripts/bench-peer.

  /usr/bin/python3 bench/peer/convert.py --llama-src SRC --model DIR --outtype f32|bf16|q8_0 --outfile FILE.gguf

SRC is an unpacked llama.cpp tree. The converter needs torch (Debian's python3-torch does) and imports
transformers and tqdm, which are replaced by the stubs in bench/peer/stub (config.json is read instead of
AutoConfig; no progress bar).
A random checkpoint has no tokenizer, so LLaDAModel.set_vocab is replaced by a made-up GPT-2-style one of the
checkpoint's vocab_size: ids 0-255 are the byte-level tokens, 256 is "Ġt" (the one merge, "Ġ t"), the rest are
"<|tN|>" fillers; mask_token_id is "<|mdm_mask|>" and eos_token_id "<|eot_id|>" (control tokens, also bos).
bench-peer feeds llama-diffusion-cli token ids directly (its patch), so the text side is never used.
Everything else (tensor names, Q/K permutation, hyper-parameters, quantisation) is the converter's.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "train"))
from tokenizer import byte_symbols  # noqa: E402  (GPT-2's byte -> printable symbol table)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-src", required=True, type=Path)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--outtype", required=True, choices=["f32", "bf16", "f16", "q8_0"])
    ap.add_argument("--outfile", required=True, type=Path)
    a = ap.parse_args()

    sys.path[:0] = [str(HERE / "stub"), str(a.llama_src / "gguf-py"), str(a.llama_src)]
    import torch
    # Older torch (Debian 12's 1.13) lacks these dtypes; the converter names them only as keys of its dtype
    # tables, for file types a random checkpoint never has: distinct placeholders keep the tables apart.
    for name in ("uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2"):
        if not hasattr(torch, name):
            setattr(torch, name, f"torch.{name} (absent)")
    import gguf  # noqa: E402  (from the llama.cpp tree)
    import convert_hf_to_gguf as conv  # noqa: E402

    config = json.loads((a.model / "config.json").read_text())
    vocab_size, mask, eos = config["vocab_size"], config["mask_token_id"], config["eos_token_id"]

    def set_vocab(self):
        byte_chars = byte_symbols()
        tokens = [byte_chars[b] for b in range(256)] + ["\u0120t"]
        tokens += [f"<|t{i}|>" for i in range(len(tokens), vocab_size)]
        types = [gguf.TokenType.NORMAL] * vocab_size
        tokens[mask], types[mask] = "<|mdm_mask|>", gguf.TokenType.CONTROL
        tokens[eos], types[eos] = "<|eot_id|>", gguf.TokenType.CONTROL
        w = self.gguf_writer
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(["\u0120 t"])
        w.add_bos_token_id(eos)
        w.add_eos_token_id(eos)
        w.add_pad_token_id(eos)
        w.add_mask_token_id(mask)
        w.add_add_bos_token(False)

    conv.LLaDAModel.set_vocab = set_vocab
    sys.argv = ["convert_hf_to_gguf.py", str(a.model), "--outtype", a.outtype, "--outfile", str(a.outfile)]
    conv.main()


if __name__ == "__main__":
    main()
