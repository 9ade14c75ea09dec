#!/usr/bin/python3
"""Prints scripts/bench-compare's table from the JSON each run left behind.

    bench_table.py RUN_DIR...

Each RUN_DIR holds ``meta.json`` (shape, dtype, threads, blas_threads, gen_length, block_length, steps, warmup,
caches) and the JSON outputs ``remask-<cache>-<i>.json`` (one series per cache mode in ``caches``) and
``reference-<i>.json`` (i = 0, 1, ...; none where meta.json says ``"reference": false``: the reference runs LLaDA
only, so those rows give remask's figures and "no reference"). The first ``warmup`` runs of each series are left
out; seconds per generation is the median of the rest. One row per cache mode, each against the (uncached)
reference. Exits 1 if a run is missing or the two engines report different NFE.
"""

import glob
import json
import os
import re
import statistics
import sys


def load_runs(directory, series):
    runs = []
    paths = [p for p in glob.glob(os.path.join(directory, f"{series}-*.json"))
             if re.fullmatch(re.escape(series) + r"-\d+\.json", os.path.basename(p))]
    for path in sorted(paths, key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0])):
        with open(path, encoding="utf-8") as f:
            runs.append(json.load(f))
    return runs


def first_difference(a, b):
    diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y] + list(range(min(len(a), len(b)), max(len(a), len(b))))
    return diffs


def main(dirs):
    rows, notes, bad = [], [], False
    for d in dirs:
        with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
        caches = meta.get("caches", ["none"])
        referenced = meta.get("reference", True)
        engines = {}
        for engine in [f"remask-{c}" for c in caches] + (["reference"] if referenced else []):
            runs = load_runs(d, engine)
            timed = runs[meta["warmup"]:]
            if not timed:
                print(f"bench-compare: {d}: no timed {engine} run", file=sys.stderr)
                bad = True
                break
            engines[engine] = {
                "seconds": statistics.median(r["seconds"] for r in timed),
                "all": [r["seconds"] for r in runs],
                "nfe": timed[-1]["nfe"],
                "full": timed[-1].get("nfe_full_equivalent", timed[-1]["nfe"]),
                "ids": timed[-1]["ids"],
            }
        if len(engines) < len(caches) + referenced:
            continue
        L = meta["gen_length"]
        blas = meta.get("blas_threads", meta["threads"])
        threads = str(meta["threads"]) if blas == meta["threads"] else f"{meta['threads']} (BLAS {blas})"
        for cache in caches:
            r = engines[f"remask-{cache}"]
            runs_note = (f"{meta['shape']} {meta['dtype']} threads {threads} cache {cache}: runs (s, the first "
                         f"{meta['warmup']} a warm-up): remask {', '.join(f'{s:.3f}' for s in r['all'])}")
            if not referenced:
                rows.append([
                    meta["shape"], meta["dtype"], threads, cache, str(r["nfe"]), f"{r['full']:.1f}",
                    f"{r['seconds']:.3f}", "-", f"{r['seconds'] / r['nfe'] * 1000:.1f}", "-",
                    f"{L / r['seconds']:.1f}", "-", "no reference", "-",
                ])
                notes.append(runs_note)
                continue
            p = engines["reference"]
            if r["nfe"] != p["nfe"]:
                bad = True
                notes.append(f"{meta['shape']} {meta['dtype']} threads {meta['threads']} cache {cache}: NFE differs "
                             f"(remask {r['nfe']}, reference {p['nfe']})")
            diffs = first_difference(r["ids"], p["ids"])
            same = "yes" if not diffs else f"no ({len(diffs)}/{len(r['ids'])}, first at {diffs[0]})"
            rows.append([
                meta["shape"], meta["dtype"], threads, cache, str(r["nfe"]), f"{r['full']:.1f}",
                f"{r['seconds']:.3f}", f"{p['seconds']:.3f}",
                f"{r['seconds'] / r['nfe'] * 1000:.1f}", f"{p['seconds'] / p['nfe'] * 1000:.1f}",
                f"{L / r['seconds']:.1f}", f"{L / p['seconds']:.1f}",
                f"{p['seconds'] / r['seconds']:.2f}x", same,
            ])
            notes.append(runs_note)
        if referenced:
            notes.append(f"{meta['shape']} {meta['dtype']} threads {threads}: reference runs "
                         f"{', '.join(f'{s:.3f}' for s in engines['reference']['all'])}")

    header = ["shape", "dtype", "threads", "cache", "NFE", "full-seq NFE", "remask s/gen", "ref s/gen", "remask ms/NFE", "ref ms/NFE",
              "remask tok/s", "ref tok/s", "speed-up", "ids equal"]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i])
              for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()
    print("speed-up = reference s/gen / remask s/gen (median of the timed runs, same NFE, same checkpoint, prompt,")
    print("threads and dtype); tok/s = generated tokens / s per generation; model load not included. full-seq NFE:")
    print("the positions remask's forwards computed, in whole sequences (a cache computes fewer); the reference")
    print("never caches, so a cached row's ids may differ from it: that is the approximation.")
    for n in notes:
        print("  " + n)
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
