"""Gives the tiny family checkpoints (src/test/resources/golden/families) the tokenizer files their real
checkpoints ship, so that remask finds the mask and end-of-text ids where the real LLaDA-MoE and LLaDA2 keep
them (tokenizer.json's added tokens, not config.json) and can tokenize and chat: a word-level vocabulary of 512
entries ("w0" ... "w511", split on whitespace) whose ids 497 and 510 are the golden vectors' end-of-text and mask
tokens, and a ChatML template like the real ones'. Run from the repository root:

    python3 bench/reference/family_tokenizers.py
"""
import json
import pathlib

ROOT = pathlib.Path("src/test/resources/golden/families")
EOS, MASK, VOCAB = 497, 510, 512
SPECIAL = {EOS: "<|endoftext|>", MASK: "<|mask|>", 498: "<|im_start|>", 499: "<|im_end|>"}
TEMPLATE = ("{% for message in messages %}<|im_start|> {{ message['role'] }} {{ message['content'] }} <|im_end|> "
            "{% endfor %}{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")


def tokenizer():
    vocab = {SPECIAL.get(i, f"w{i}"): i for i in range(VOCAB)}
    added = [{"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, text in sorted(SPECIAL.items())]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "w0"}}


def main():
    for model in sorted(p for p in ROOT.iterdir() if p.is_dir()):
        (model / "tokenizer.json").write_text(json.dumps(tokenizer(), indent=1) + "\n")
        config = {"eos_token": SPECIAL[EOS], "pad_token": SPECIAL[EOS], "mask_token": SPECIAL[MASK],
                  "chat_template": TEMPLATE, "tokenizer_class": "PreTrainedTokenizerFast"}
        (model / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
        print("wrote", model / "tokenizer.json")


if __name__ == "__main__":
    main()
