"""A silent stand-in for tqdm (gguf-py's writer draws a progress bar with it); see bench/peer/convert.py."""


class tqdm:
    def __init__(self, *args, **kwargs):
        pass

    def update(self, n=1):
        pass

    def set_description(self, desc=None, refresh=True):
        pass

    def reset(self, total=None):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
