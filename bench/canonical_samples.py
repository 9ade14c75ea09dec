"""Writes a samples.jsonl (openai/human-eval's shape) of a dataset's reference solutions, for `remask eval
--score`: with --wrong, each task gets the next task's solution instead, which must fail.

    python3 bench/canonical_samples.py DATASET OUT.jsonl [--wrong]

DATASET is any format `remask eval --dataset` reads: HumanEval's (canonical_solution) or MBPP's (code,
task_id N scored as Mbpp/N), JSON Lines or a JSON array, plain or gzipped.
"""
import argparse
import gzip
import json

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("dataset")
parser.add_argument("out")
parser.add_argument("--wrong", action="store_true", help="give each task the next task's solution")
a = parser.parse_args()

with (gzip.open if a.dataset.endswith(".gz") else open)(a.dataset, "rt", encoding="utf-8") as f:
    text = f.read()
records = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
ids = [r["task_id"] if isinstance(r["task_id"], str) else "Mbpp/%d" % r["task_id"] for r in records]
solutions = [r["code"].replace("\r\n", "\n") if "test_list" in r else r["canonical_solution"] for r in records]
with open(a.out, "w", encoding="utf-8") as f:
    for i, task_id in enumerate(ids):
        f.write(json.dumps({"task_id": task_id, "completion": solutions[(i + 1) % len(ids) if a.wrong else i]}) + "\n")
