#!/usr/bin/env python3
"""remask serve under concurrent clients against the same requests one after another through the CLI.

For each cache mode, interleaved: the requests one after another with `remask generate` (one process each; its
JSON's "seconds", the generation without the model load), then the same requests against one running
`remask serve` at each concurrency (that many clients, each sending its next request as soon as its last is
answered). Reports generated tokens per second and latency percentiles, and checks that every server answer
equals the CLI's answer for that prompt (temperature 0). Standard library only.

  bench/serve_bench.py --remask scripts/remask --model DIR --out DIR [--concurrency 1,2,4,8,16]
      [--requests 16] [--gen-length 64] [--block-length 32] [--steps 16] [--caches none,dual] [--threads 2]
"""
import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request


def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


def prompts(count, length, below):
    rng = random.Random(1234)
    return [[rng.randrange(below) for _ in range(length)] for _ in range(count)]


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def ids_of(text):
    """The random checkpoint's word tokenizer writes id N as the word tN."""
    return [int(word[1:]) for word in text.split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--remask", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--concurrency", default="1,2,4,8,16")
    ap.add_argument("--requests", type=int, default=16, help="requests per measurement (at least the concurrency)")
    ap.add_argument("--gen-length", type=int, default=64)
    ap.add_argument("--block-length", type=int, default=32)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--prompt-length", type=int, default=32)
    ap.add_argument("--caches", default="none,dual")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    levels = [int(c) for c in a.concurrency.split(",")]
    caches = a.caches.split(",")
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "raw.txt"), "w")

    def say(line):
        print(line)
        log.write(line + "\n")
        log.flush()

    say("command: " + " ".join(sys.argv))
    say("busiest other processes at the start: " + subprocess.run(
        ["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout.splitlines()[1:4].__str__())
    config = json.load(open(os.path.join(a.model, "config.json")))
    requests = max([a.requests] + levels)
    all_prompts = prompts(requests, a.prompt_length, config["mask_token_id"] - 1)
    common = {"max_tokens": a.gen_length, "block_length": a.block_length, "steps": a.steps, "eos_logit_off": True,
              "temperature": 0}

    server = subprocess.Popen([a.remask, "serve", "--model", a.model, "--port", "0", "--threads", str(a.threads),
                               "--max-batch", str(max(levels)), "--max-queue", str(4 * requests)],
                              stderr=subprocess.PIPE, text=True)
    port = None
    for line in server.stderr:
        say("server: " + line.rstrip())
        found = re.search(r"serving .* on http://127.0.0.1:(\d+)/v1", line)
        if found:
            port = int(found.group(1))
            break
    if port is None:
        sys.exit("remask serve did not start")
    threading.Thread(target=lambda: [log.write("server: " + l) for l in server.stderr], daemon=True).start()
    url = f"http://127.0.0.1:{port}/v1/completions"

    results = {"settings": vars(a) | {"requests": requests}, "caches": {}}
    for cache in caches:
        post(url, {"prompt": all_prompts[0], "cache": cache, **common})  # warm-up, not counted
    for cache in caches:
        # One after another through the CLI: one process per request; the generation's own seconds.
        cli = []
        for p in all_prompts:
            out = subprocess.run([a.remask, "generate", "--model", a.model, "--prompt-ids", ",".join(map(str, p)),
                                  "--gen-length", str(a.gen_length), "--block-length", str(a.block_length),
                                  "--steps", str(a.steps), "--cache", cache, "--eos-logit-off", "--threads",
                                  str(a.threads), "--format", "json", "--quiet"],
                                 capture_output=True, text=True, check=True).stdout
            cli.append(json.loads(out))
        cli_seconds = [c["seconds"] for c in cli]
        sequential = len(cli) * a.gen_length / sum(cli_seconds)
        say(f"cache {cache}: CLI one after another: {sequential:.2f} tokens/s, generation median "
            f"{statistics.median(cli_seconds):.3f} s (min {min(cli_seconds):.3f}, max {max(cli_seconds):.3f})")
        entry = {"cli_tokens_per_second": sequential, "cli_seconds": cli_seconds, "levels": {}}
        for level in levels:
            latencies = [None] * requests
            answers = [None] * requests
            next_index = iter(range(requests))
            lock = threading.Lock()

            def client():
                while True:
                    with lock:
                        i = next(next_index, None)
                    if i is None:
                        return
                    started = time.perf_counter()
                    answers[i] = post(url, {"prompt": all_prompts[i], "cache": cache, **common})
                    latencies[i] = time.perf_counter() - started

            began = time.perf_counter()
            clients = [threading.Thread(target=client) for _ in range(level)]
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            wall = time.perf_counter() - began
            tokens = sum(r["usage"]["completion_tokens"] for r in answers)
            equal = sum(ids_of(r["choices"][0]["text"]) == c["ids"] for r, c in zip(answers, cli))
            throughput = tokens / wall
            row = {"tokens_per_second": throughput, "vs_one_after_another": throughput / sequential,
                   "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                   "p99": percentile(latencies, 99), "equal_to_cli": equal, "requests": requests}
            entry["levels"][level] = row
            say(f"cache {cache}: concurrency {level:2d}: {throughput:7.2f} tokens/s ({row['vs_one_after_another']:.2f}x"
                f" one after another), latency p50 {row['p50']:.3f} s p95 {row['p95']:.3f} s p99 {row['p99']:.3f} s,"
                f" {equal}/{requests} answers equal to the CLI's")
        entry["latency_1_vs_cli"] = entry["levels"][levels[0]]["p50"] / statistics.median(cli_seconds) \
            if levels[0] == 1 else None
        results["caches"][cache] = entry

    server.send_signal(signal.SIGTERM)
    results["server_exit"] = server.wait(timeout=120)
    say(f"server exit status after SIGTERM: {results['server_exit']}")
    say("busiest other processes at the end: " + subprocess.run(
        ["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout.splitlines()[1:4].__str__())
    json.dump(results, open(os.path.join(a.out, "results.json"), "w"), indent=2)

    with open(os.path.join(a.out, "table.txt"), "w") as table:
        table.write(f"{'cache':6} {'clients':>7} {'tokens/s':>9} {'vs CLI':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7}"
                    f" {'equal':>6}\n")
        for cache, entry in results["caches"].items():
            table.write(f"{cache:6} {'CLI':>7} {entry['cli_tokens_per_second']:9.2f} {1:7.2f}"
                        f" {statistics.median(entry['cli_seconds']):7.3f} {'':>7} {'':>7} {'':>6}\n")
            for level, row in entry["levels"].items():
                table.write(f"{cache:6} {level:7d} {row['tokens_per_second']:9.2f} {row['vs_one_after_another']:7.2f}"
                            f" {row['p50']:7.3f} {row['p95']:7.3f} {row['p99']:7.3f}"
                            f" {row['equal_to_cli']:>3}/{row['requests']}\n")
    print(open(os.path.join(a.out, "table.txt")).read())
    mismatched = any(row["equal_to_cli"] != row["requests"] for e in results["caches"].values()
                     for row in e["levels"].values())
    if mismatched or results["server_exit"] != 0:
        sys.exit("some answers differ from the CLI's, or the server did not exit 0")


if __name__ == "__main__":
    main()
