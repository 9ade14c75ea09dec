#!/usr/bin/env python3
"""scripts/bench-peer's reader: the token check and the timing table from a run's raw outputs.

  python3 bench/peer/table.py DIR...            the table (and the token agreement) of each shape's DIR
  python3 bench/peer/table.py --check-only DIR  exit 1 when remask float32 and llama.cpp F32 differ in run 0

DIR holds meta.json, remask-<dtype>-<i>.txt (the command on line 1, then generate's JSON: "ids", "seconds") and
llama-<type>-<i>.txt (the command, then llama-diffusion-cli's output with the patch's "diffusion ids: ..." line
and its own "total time: X ms ... sampling time per step: Y ms"); each may end with GNU time's "# peak resident
set: N KB". Runs i < warmup are left out of the medians.
"""
import json
import re
import statistics
import sys
from pathlib import Path

REMASK = ("float32", "bfloat16", "int8")
LLAMA = ("f32", "bf16", "q8_0")
LLAMA_NAME = {"f32": "F32", "bf16": "BF16", "q8_0": "Q8_0"}
PAIRS = list(zip(REMASK, LLAMA))


def load_average(text):
    m = re.search(r"^# load average ([0-9.]+)", text, re.M)
    return float(m.group(1)) if m else None


def peak_gb(text):
    m = re.search(r"^# peak resident set: ([0-9]+) KB", text, re.M)
    return int(m.group(1)) / 1e6 if m else None


def read_remask(path):
    text = path.read_text(errors="replace")
    line = next(x for x in reversed(text.splitlines()) if x.startswith("{"))
    j = json.loads(line)
    return j["ids"], float(j["seconds"]), None, load_average(text), peak_gb(text)


def read_llama(path):
    text = path.read_text(errors="replace")
    ids = re.search(r"diffusion ids: ([0-9,]+)", text)
    t = re.search(r"total time: ([0-9.]+)ms, time per step: ([0-9.]+)ms, sampling time per step: ([0-9.]+)ms", text)
    if not ids or not t:
        raise SystemExit(f"bench-peer: {path}: no generated ids or no timing line")
    total, per_step, sampling = (float(v) / 1000 for v in t.groups())
    return ([int(v) for v in ids.group(1).split(",")], total, sampling * total / per_step if per_step else 0.0,
            load_average(text), peak_gb(text))


def load(d):
    d = Path(d)
    meta = json.loads((d / "meta.json").read_text())
    runs = {}   # (engine, precision) -> [(ids, seconds, sampling)] by run index
    for f in sorted(d.glob("*-*-*.txt")):
        m = re.fullmatch(r"(remask|llama)-(\w+)-(\d+)\.txt", f.name)
        if not m:
            continue
        engine, prec, i = m.group(1), m.group(2), int(m.group(3))
        r = (read_remask if engine == "remask" else read_llama)(f)
        runs.setdefault((engine, prec), {})[i] = r
    return meta, {k: [v[i] for i in sorted(v)] for k, v in runs.items()}


def equal(a, b):
    return sum(x == y for x, y in zip(a, b)), max(len(a), len(b))


def check_only(d):
    meta, runs = load(d)
    a, b = runs.get(("remask", "float32")), runs.get(("llama", "f32"))
    if not a or not b:
        print(f"bench-peer: {meta['shape']}: no float32 pair to check (remask float32 and llama.cpp F32 not both run)")
        return 0
    n, of = equal(a[0][0], b[0][0])
    print(f"bench-peer: {meta['shape']}: remask float32 and llama.cpp F32 agree on {n} of {of} generated tokens")
    return 0 if n == of else 1


def columns(runs):
    cols = [("remask", p) for p in REMASK if ("remask", p) in runs]
    return cols + [("llama", p) for p in LLAMA if ("llama", p) in runs]


def name(col):
    return f"remask {col[1]}" if col[0] == "remask" else f"llama.cpp {LLAMA_NAME[col[1]]}"


def main(args):
    if args and args[0] == "--check-only":
        return check_only(args[1])
    loaded = [load(d) for d in args]
    cols = []
    for _, runs in loaded:
        cols += [c for c in columns(runs) if c not in cols]
    pairs = [(r, l) for r, l in PAIRS if any(("remask", r) in x and ("llama", l) in x for _, x in loaded)]
    steps_only = any(m["steps_only"] for m, _ in loaded)
    unit = "seconds per generation" + (" (llada8b: per model call)" if steps_only else "")
    head = ["shape", "NFE"] + [name(c) for c in cols] + [f"{r}/{LLAMA_NAME[l]}" for r, l in pairs]
    rows, best, notes = [], [], []
    for meta, runs in loaded:
        w = meta["warmup"]
        per = meta["steps"] if meta["steps_only"] else 1
        med = {c: statistics.median(r[1] for r in runs[c][w:]) / per for c in cols if c in runs and runs[c][w:]}
        row = [meta["shape"], str(meta["steps"])] + [f"{med[c]:.3f}" if c in med else "-" for c in cols]
        row += [f"{med[('remask', r)] / med[('llama', l)]:.2f}" if ("remask", r) in med and ("llama", l) in med else "-"
                for r, l in pairs]
        rows.append(row)
        low = {c: min(r[1] for r in runs[c][w:]) / per for c in cols if c in runs and runs[c][w:]}
        row = [meta["shape"], str(meta["steps"])] + [f"{low[c]:.3f}" if c in low else "-" for c in cols]
        row += [f"{low[('remask', r)] / low[('llama', l)]:.2f}" if ("remask", r) in low and ("llama", l) in low else "-"
                for r, l in pairs]
        best.append(row)
        loads = [r[3] for c in runs for r in runs[c][w:] if r[3] is not None]
        # Token agreement (run 0), determinism across runs, llama.cpp's sampling share.
        first = {c: runs[c][0][0] for c in runs}
        agree = [f"{name(('remask', r))} = {name(('llama', l))}: {equal(first[('remask', r)], first[('llama', l)])[0]}"
                 for r, l in PAIRS if ("remask", r) in first and ("llama", l) in first]
        ref = first.get(("remask", "float32"))
        if ref is not None:
            agree += [f"{name(c)} = remask float32: {equal(first[c], ref)[0]}" for c in columns(runs) if c != ("remask", "float32")]
        notes.append(f"  {meta['shape']}: tokens equal of {meta['gen_length']} (first run): " + "; ".join(agree))
        varying = [name(c) for c in runs if any(r[0] != runs[c][0][0] for r in runs[c])]
        if varying:
            notes.append(f"  {meta['shape']}: ids differ between runs of: {', '.join(varying)}")
        samp = [f"{LLAMA_NAME[p]} {statistics.median(r[2] for r in runs[('llama', p)][w:]) / per:.3f}"
                for p in LLAMA if ("llama", p) in runs and runs[("llama", p)][w:]]
        if samp:
            notes.append(f"  {meta['shape']}: of which llama.cpp's sampling (argmax + softmax on the CPU): " + ", ".join(samp))
        peaks = [f"{name(c)} {max(r[4] for r in runs[c]):.2f}" for c in columns(runs) if all(r[4] for r in runs[c])]
        if peaks:
            notes.append(f"  {meta['shape']}: peak resident memory, GB (the most of any run): " + ", ".join(peaks))
        notes.append(f"  {meta['shape']}: {len(next(iter(runs.values()))) - w} timed runs after {w} warm-up, "
                     f"{meta['threads']} threads, llama.cpp {meta['llama_commit'][:12]}"
                     + (f"; 1-minute load average when a timed run got the lock: {min(loads):.2f} to {max(loads):.2f}"
                        if loads else ""))
    width = [max(len(h), *(len(r[i]) for r in rows + best)) for i, h in enumerate(head)]
    for title, table in (("median", rows), ("best (the least disturbed when other processes share the CPUs)", best)):
        print(f"{unit}; {title} of the timed runs; ratio < 1: remask is faster")
        print("  ".join(h.rjust(width[i]) if i else h.ljust(width[i]) for i, h in enumerate(head)))
        for r in table:
            print("  ".join(v.rjust(width[i]) if i else v.ljust(width[i]) for i, v in enumerate(r)))
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
