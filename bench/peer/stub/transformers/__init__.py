"""A stand-in for Hugging Face transformers, enough for llama.cpp's convert_hf_to_gguf.py to import.

bench/peer/convert.py puts this directory on PYTHONPATH: the converter imports AutoConfig at the top and
falls back to reading config.json when AutoConfig.from_pretrained raises; the tokenizer is made up by
convert.py, so AutoTokenizer is never called. Nothing here computes anything.
"""


class _Unavailable:
    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise OSError("transformers is not installed (bench/peer/stub): reading config.json instead")


class AutoConfig(_Unavailable):
    pass


class AutoTokenizer(_Unavailable):
    pass
