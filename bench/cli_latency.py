#!/usr/bin/env python3
"""Wall-clock latency of a command line: time to its first output line and to its exit.

  python3 bench/cli_latency.py [--runs 5] [--warmup 1] [--cold] [--evict PATH]... [--remove PATH]... \\
      [--first-line-prefix 'step '] -- CMD ARGS...

Each run starts CMD with stdout on a pipe (stderr to /dev/null) and reads it line by line: "first" is
the time from the start to the first line that begins with --first-line-prefix (with `generate --trace`:
the first model step), "total" the time to its exit. The table gives every run and the median.

--cold: before every run, each --remove path is deleted (a class-data archive, say) and the pages of
every --evict path (files, or every file under a folder) are dropped from the page cache with
posix_fadvise(DONTNEED): the run then reads them from disk, as the first run after a build or a reboot
does. Pages that another process has mapped stay. Without --cold, --warmup untimed runs go first.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def evict(path):
    files = []
    if os.path.isdir(path):
        for root, _, names in os.walk(path):
            files += [os.path.join(root, n) for n in names]
    elif os.path.exists(path):
        files.append(path)
    dropped = 0
    for f in files:
        try:
            fd = os.open(os.path.realpath(f), os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            dropped += 1
        finally:
            os.close(fd)
    return dropped


def run_once(cmd, prefix):
    start = time.perf_counter()
    first = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0) as p:
        for line in p.stdout:
            if first is None and line.decode("utf-8", "replace").startswith(prefix):
                first = time.perf_counter() - start
        rc = p.wait()
    total = time.perf_counter() - start
    return first, total, rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--kind", default="", help="what to call the runs in the table (default: warm or cold)")
    ap.add_argument("--evict", action="append", default=[])
    ap.add_argument("--remove", action="append", default=[])
    ap.add_argument("--first-line-prefix", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command given")

    if not a.cold:
        for _ in range(a.warmup):
            run_once(cmd, a.first_line_prefix)
    firsts, totals = [], []
    for i in range(a.runs):
        if a.cold:
            for path in a.remove:
                if os.path.exists(path):
                    os.remove(path)
            for path in a.evict:
                evict(path)
        first, total, rc = run_once(cmd, a.first_line_prefix)
        if rc != 0:
            sys.exit(f"run {i + 1}: exit code {rc}: {' '.join(cmd)}")
        totals.append(total)
        if first is not None:
            firsts.append(first)
    label = a.label or " ".join(cmd)
    kind = a.kind or ("cold" if a.cold else "warm")

    def fmt(xs):
        return " ".join(f"{x:.3f}" for x in xs)
    print(f"{label} [{kind}, {a.runs} runs]")
    if firsts:
        what = "first step" if a.first_line_prefix else "first line"
        print(f"  {what:<11} median {statistics.median(firsts):.3f} s   runs: {fmt(firsts)}")
    print(f"  total       median {statistics.median(totals):.3f} s   runs: {fmt(totals)}")


if __name__ == "__main__":
    main()
