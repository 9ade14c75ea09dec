#!/usr/bin/env python3
"""The claims about MiniEval, checked (scripts/test runs this): python3 train/test_tasks.py

- Both MiniEval files regenerate byte for byte from their recorded commands (train/tasks.py's docstring).
- v2 is held out: no canonical solution of a training task, its arguments renamed ARG0, ARG1, ..., is any
  v2 task's solution under any of its bodies (which also covers sharing a family's constants). Checked on
  a deterministic sample of the training splits that scripts/train-mini's seeds draw with --exclude v2
  (their first 50,000 and 20,000 tasks: each split is drawn in order, so a prefix is the split's start).
- v2's tests are mutation-adequate: every one-token mutant of each canonical solution fails the task's
  test, unless it agrees with the solution on 1000 fresh inputs of the family (an equivalent mutant);
  the counts equal those the record states.
Prints one line per failed check and "N passed, N failed"; exits 1 when any failed.
"""
import json
import os
import random
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "train"))
import tasks  # noqa: E402

passed = failed = 0


def check(ok, message):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAILED " + message, flush=True)


def generated(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "train", "tasks.py"), *args], check=True,
                          capture_output=True, text=True, cwd=ROOT).stdout


def main():
    v1 = os.path.join(ROOT, "datasets", "minieval.jsonl")
    v2 = os.path.join(ROOT, "datasets", "minieval-v2.jsonl")
    with open(v1) as f:
        check(generated("minieval", "--count", "164", "--seed", "2026") == f.read(), "v1 does not regenerate")
    with open(v2) as f:
        text = f.read()
    check(generated("minieval-v2", "--count", "164", "--seed", "2027") == text, "v2 does not regenerate")
    held_out = [json.loads(line) for line in text.splitlines()]
    check(len(held_out) == 164, "v2 has %d tasks, not 164" % len(held_out))
    reserved = {text: r["task_id"] for r in held_out for text in r["solutions"]}
    for r in held_out:
        check(tasks.renamed(r) in r["solutions"], r["task_id"] + ": its canonical solution is not among its solutions")

    for args in (["--count", "50000", "--seed", "1"], ["--count", "20000", "--seed", "2", "--variants"]):
        leaks = []
        for line in generated("train", *args, "--exclude", v2).splitlines():
            record = json.loads(line)
            if tasks.renamed(record) in reserved:
                leaks.append((record["task_id"], reserved[tasks.renamed(record)]))
        check(not leaks, "train %s: %d tasks are v2 solutions, e.g. %s" % (" ".join(args), len(leaks), leaks[:3]))

    rng = random.Random(7)
    killed_all = non_equivalent_all = 0
    for r in held_out:
        spec = {"name": r["entry_point"], "args": re.match(r"def \w+\((.*?)\):", r["prompt"]).group(1).split(", ")}
        scope = {}
        exec(r["test"], scope)
        solution = tasks.compiled(spec, r["canonical_solution"])
        pool = [args for _ in range(tasks.MUTATION_INPUTS) for args in tasks.FAMILIES[r["family"]](rng)["inputs"](rng)]
        killed = non_equivalent = 0
        for body in tasks.mutants(r["canonical_solution"]):
            mutant = tasks.compiled(spec, body)
            try:
                scope["check"](mutant)
                survived = True
            except Exception:
                survived = False
            equivalent = all(tasks.outcome(mutant, args) == tasks.outcome(solution, args) for args in pool)
            if survived:
                check(equivalent, "%s: the mutant %r passes the tests but differs from the solution"
                      % (r["task_id"], body.strip()))
            if not equivalent:
                non_equivalent += 1
                killed += not survived
        check(killed == non_equivalent,
              "%s: %d of %d mutants killed" % (r["task_id"], killed, non_equivalent))
        killed_all += killed
        non_equivalent_all += non_equivalent
    check(killed_all == non_equivalent_all, "mutation score %d / %d" % (killed_all, non_equivalent_all))
    print("v2 mutation score: %d of %d non-equivalent mutants killed" % (killed_all, non_equivalent_all))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
