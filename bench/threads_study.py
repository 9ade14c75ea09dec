#!/usr/bin/env python3
"""Threads and BLAS on this machine: median forward times of remask_floor under each setting, interleaved.

    flock /tmp/remask-bench.lock python3 bench/threads_study.py [--reps 3] [--out FILE] [--part blas,sizes,dtypes]

Parts (each prints one table; every timed setting runs once per round, rounds interleave the settings):
  blas    the LLaDA-shaped trunk (d_model 1024, 2 layers, SwiGLU 3072, vocabulary 512) in float32, 288 tokens:
          libtorch's GEMMs on OpenBLAS's pthread build (its own thread pool) or its OpenMP build (libtorch's
          pool; what native/CMakeLists.txt links), OpenMP threads waiting by libgomp's default (spinning) or
          OMP_WAIT_POLICY=PASSIVE (what the Java side sets), the machine idle or one core kept busy by a spinning
          neighbour process; libtorch at 1 and 2 threads.
  sizes   OpenMP OpenBLAS, PASSIVE, idle: d_model 192 (the shipped remask-mini), 384, 512, 768, 1024 at
          float32, bfloat16 and int8, 1 and 2 threads: where a second thread stops paying.
The pthread build of libremask is made once in target/native-pthread (same sources, no OpenMP BLAS RPATH).
Checkpoints are written once into target/threads-study/ (bench/random_checkpoint.py, bfloat16).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "target")
CKPT = os.path.join(TARGET, "threads-study")
OPENMP = os.path.join(TARGET, "native", "remask_floor")
PTHREAD = os.path.join(TARGET, "native-pthread", "remask_floor")


def checkpoint(d, mlp, vocab=512):
    out = os.path.join(CKPT, f"d{d}")
    if not os.path.exists(os.path.join(out, "config.json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "random_checkpoint.py"), "--out", out,
                        "--d-model", str(d), "--layers", "2", "--heads", str(max(1, d // 64)), "--mlp", str(mlp),
                        "--vocab", str(vocab), "--dtype", "bfloat16"], check=True, stdout=subprocess.DEVNULL)
    return out


def pthread_build():
    if not os.path.exists(PTHREAD):
        build = os.path.dirname(PTHREAD)
        os.makedirs(build, exist_ok=True)
        subprocess.run(["cmake", os.path.join(ROOT, "native"), "-DREMASK_OPENMP_BLAS_DIR=REMASK_OPENMP_BLAS_DIR-NOTFOUND",
                        "-DREMASK_CUDA_COMPILE_CHECK=OFF"], cwd=build, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["make", "-j2", "remask_floor"], cwd=build, check=True, stdout=subprocess.DEVNULL)
    return PTHREAD


def forward_ms(floor, model, dtype, threads, policy):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run([floor, model, "--tokens", "288", "--rows", "32", "--dtype", dtype, "--threads", str(threads),
                          "--iters", "6", "--warmup", "2", "--runs", "1"], env=env, capture_output=True, text=True,
                         check=True).stdout
    blas = re.search(r"^blas: (.*)$", out, re.M).group(1)
    assert ("USE_OPENMP" in blas) == (floor == OPENMP), (floor, blas)
    return float(re.search(r"^forward .*median ([0-9.]+) ms", out, re.M).group(1))


class Neighbour:
    """One process spinning on a core for the duration: a busy machine (another generation, a build)."""

    def __init__(self, busy):
        self.busy = busy

    def __enter__(self):
        self.proc = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if self.busy else None

    def __exit__(self, *exc):
        if self.proc:
            self.proc.kill()
            self.proc.wait()


def study(settings, reps):
    """settings: (label tuple, callable) -> {label: [ms...]}, interleaved over reps rounds."""
    times = {label: [] for label, _ in settings}
    for _ in range(reps):
        for label, run in settings:
            times[label].append(run())
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--part", default="blas,sizes")
    ap.add_argument("--out")
    a = ap.parse_args()
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    say(f"# python3 bench/threads_study.py --reps {a.reps} --part {a.part}")
    say(f"# {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    parts = a.part.split(",")
    if "blas" in parts:
        trunk = checkpoint(1024, 3072)
        settings = []
        for blas, floor in (("pthread", pthread_build()), ("openmp", OPENMP)):
            for policy in ("spin", "passive"):
                for busy in (False, True):
                    for threads in (1, 2):
                        def run(floor=floor, policy=policy, busy=busy, threads=threads):
                            with Neighbour(busy):
                                return forward_ms(floor, trunk, "float32", threads, policy)
                        settings.append(((blas, policy, "busy" if busy else "idle", threads), run))
        times = study(settings, a.reps)
        say("\nfloat32 trunk (d_model 1024, 2 layers, SwiGLU 3072, vocab 512), 288 tokens, LM head on 32 rows: "
            f"median forward ms over {a.reps} interleaved rounds (each a median of 6 forwards)\n")
        say("| OpenBLAS build | OpenMP waits | machine | 1 thread | 2 threads | 2 threads vs 1 |")
        say("|---|---|---|---|---|---|")
        for blas in ("pthread", "openmp"):
            for policy in ("spin", "passive"):
                for machine in ("idle", "busy"):
                    one = statistics.median(times[(blas, policy, machine, 1)])
                    two = statistics.median(times[(blas, policy, machine, 2)])
                    say(f"| {blas} | {policy} | {machine} | {one:.1f} | {two:.1f} | {one / two:.2f}x |")
    if "sizes" in parts:
        models = [("192 (remask-mini)", os.path.join(ROOT, "models", "remask-mini"))]
        models += [(str(d), checkpoint(d, 3 * d)) for d in (384, 512, 768, 1024)]
        settings = []
        for name, path in models:
            for dtype in ("float32", "bfloat16", "int8"):
                for threads in (1, 2):
                    settings.append(((name, dtype, threads),
                                     lambda p=path, dt=dtype, t=threads: forward_ms(OPENMP, p, dt, t, "passive")))
        times = study(settings, a.reps)
        say("\nOpenMP OpenBLAS, passive waits, idle; 2 layers at d_model d, SwiGLU 3d, vocab 512 (remask-mini: its "
            f"own 4 layers, SwiGLU 512, vocab 1024), 288 tokens: median forward ms over {a.reps} interleaved rounds\n")
        say("| d_model | float32 1 / 2 threads | bfloat16 1 / 2 threads | int8 1 / 2 threads |")
        say("|---|---|---|---|")
        for name, _ in models:
            cells = []
            for dtype in ("float32", "bfloat16", "int8"):
                one = statistics.median(times[(name, dtype, 1)])
                two = statistics.median(times[(name, dtype, 2)])
                cells.append(f"{one:.1f} / {two:.1f} ({one / two:.2f}x)")
            say(f"| {name} | " + " | ".join(cells) + " |")
    say(f"\n# {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
