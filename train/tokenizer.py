"""A byte-level BPE tokenizer for remask-mini: learned from the training tasks, written as tokenizer.json.

The pre-tokenizer is GPT-2's ByteLevel regex, which the Hugging Face tokenizers library (DJL) runs at
inference; the training text is ASCII, for which WORD below splits exactly as that regex does, so
encode() here gives the ids the engine's tokenizer gives (TokenizerAgreementTest checks this on MiniEval).

    python3 train/tokenizer.py build TRAIN.jsonl OUT_DIR --vocab-size 1024
    python3 train/tokenizer.py encode TRAIN.jsonl OUT_DIR > train.txt     # "prompt ids|answer ids" per line
"""
import argparse
import collections
import json
import os
import re
import sys

# GPT-2's pattern with \p{L} / \p{N} narrowed to ASCII: the same split on ASCII text.
WORD = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
SPECIAL = ["<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>"]


def byte_symbols():
    """GPT-2's byte -> printable symbol table, as byte-level BPE uses it."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


SYMBOLS = byte_symbols()


def words(text):
    if not text.isascii():
        raise ValueError("remask-mini's tokenizer trainer handles ASCII text only")
    return ["".join(SYMBOLS[b] for b in w.encode()) for w in WORD.findall(text)]


def texts(path):
    with open(path) as f:
        for line in f:
            task = json.loads(line)
            yield task["prompt"], task["canonical_solution"]


def learn(path, merges_wanted):
    counts = collections.Counter()
    for prompt, answer in texts(path):
        counts.update(words(prompt))
        counts.update(words(answer))
    pieces = {w: list(w) for w in counts}
    merges = []
    while len(merges) < merges_wanted:
        pairs = collections.Counter()
        for w, n in counts.items():
            p = pieces[w]
            for a, b in zip(p, p[1:]):
                pairs[a, b] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda e: (e[1], e[0]))[0]  # the most frequent; ties by the pair itself
        merges.append(best)
        for w, p in pieces.items():
            i, out = 0, []
            while i < len(p):
                if i + 1 < len(p) and (p[i], p[i + 1]) == best:
                    out.append(p[i] + p[i + 1])
                    i += 2
                else:
                    out.append(p[i])
                    i += 1
            pieces[w] = out
    return merges


def build(path, out, vocab_size):
    merges = learn(path, vocab_size - 256 - len(SPECIAL))
    vocab = {SYMBOLS[b]: b for b in range(256)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    special = [(len(vocab) + i, t) for i, t in enumerate(SPECIAL)]
    for i, t in special:  # in the vocabulary too, so the tokenizers library keeps these ids
        vocab[t] = i
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in special],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {"type": "ByteLevel", **byte_level},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    config = {
        "added_tokens_decoder": {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True} for i, t in special},
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False, "model_max_length": 1024, "tokenizer_class": "PreTrainedTokenizerFast",
    }
    os.makedirs(out, exist_ok=True)
    for name, obj in (("tokenizer.json", tokenizer), ("tokenizer_config.json", config)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.write("\n")


class Encoder:
    def __init__(self, directory):
        with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
            model = json.load(f)["model"]
        self.vocab = model["vocab"]
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(model["merges"])}
        self.cache = {}

    def word(self, w):
        if w not in self.cache:
            p = list(w)
            while len(p) > 1:  # merge the lowest-ranked pair, leftmost first, as the tokenizers library does
                ranked = [(self.ranks.get((a, b), len(self.ranks)), i) for i, (a, b) in enumerate(zip(p, p[1:]))]
                rank, i = min(ranked)
                if rank == len(self.ranks):
                    break
                p[i:i + 2] = [p[i] + p[i + 1]]
            self.cache[w] = [self.vocab[s] for s in p]
        return self.cache[w]

    def encode(self, text):
        return [i for w in words(text) for i in self.word(w)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "encode"])
    parser.add_argument("tasks")
    parser.add_argument("directory")
    parser.add_argument("--vocab-size", type=int, default=1024)
    a = parser.parse_args()
    if a.command == "build":
        build(a.tasks, a.directory, a.vocab_size)
        return
    encoder = Encoder(a.directory)
    for prompt, answer in texts(a.tasks):
        sys.stdout.write(" ".join(map(str, encoder.encode(prompt))) + "|"
                         + " ".join(map(str, encoder.encode(answer))) + "\n")


if __name__ == "__main__":
    main()
