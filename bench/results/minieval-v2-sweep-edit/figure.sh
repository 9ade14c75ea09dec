#!/usr/bin/env bash
# Draws edit-vs-default.png from this sweep and the default model's (run from the repository root, bench built).
set -euo pipefail
E=bench/results/minieval-v2-sweep-edit/sweep.csv
V=bench/results/minieval-v2-sweep-variants/sweep.csv
java -cp bench/target/benchmarks.jar org.remask.bench.SweepFigure --out bench/results/minieval-v2-sweep-edit/edit-vs-default.png \
    --title "MiniEval v2: remask-mini-edit with and without --revise edit, and the default model" \
    --curve "remask-mini-edit, threshold + edit=$E:threshold:edit" --curve "remask-mini-edit, llada + edit=$E:llada:edit" \
    --curve "remask-mini-edit, threshold=$E:threshold:none" --curve "remask-mini-edit, llada=$E:llada:none" \
    --curve "remask-mini-variants, threshold + remdm=$V:threshold:remdm" --curve "remask-mini-variants, threshold=$V:threshold:none"
