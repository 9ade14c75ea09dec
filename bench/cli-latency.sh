#!/usr/bin/env bash
# The latency table of bench/README.md ("Floor, latency and memory"): `remask --version` and a short
# generation with the tiny test model, warm, cold (no class-data archive, no remembered JDK) and cold
# from disk (also the JDK, the jars, libremask, libtorch with every library it loads, and the model
# dropped from the page cache). 5 runs each. Run from the repository root, under the machine's
# benchmark lock:  flock /tmp/remask-bench.lock bench/cli-latency.sh LABEL [LAUNCHER]
set -euo pipefail
label="${1:?label}" launcher="${2:-scripts/remask}"
java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
ev=(--evict "$java_home" --evict target/remask.jar --evict target/lib --evict target/native/libremask.so
    --evict src/test/resources/text/tiny-chat-model --evict "$HOME/.cache/remask/djl")
while read -r l; do ev+=(--evict "$l"); done < <(ldd target/native/libremask.so | awk '/=>/{print $3}' | grep -v -E 'libc\.so|libm\.so|libstdc|libgcc')
rm_=(--remove target/remask-main.jsa --remove target/remask-generate.jsa --remove target/remask.java)
gen=("$launcher" generate --model src/test/resources/text/tiny-chat-model hello --gen-length 32 --block-length 32 --trace)
for mode in warm cold-cds cold-disk; do
    c=()
    [[ $mode == cold-cds ]] && c=(--cold "${rm_[@]}" --kind "cold: no CDS archive, no remembered JDK; page cache warm")
    [[ $mode == cold-disk ]] && c=(--cold "${rm_[@]}" "${ev[@]}" --kind "cold: as above + JDK, jars, libremask, libtorch and deps, model dropped from the page cache")
    python3 bench/cli_latency.py --runs 5 "${c[@]}" --label "$label: remask --version" -- "$launcher" --version
    python3 bench/cli_latency.py --runs 5 "${c[@]}" --first-line-prefix 'step ' \
        --label "$label: generate --gen-length 32 --block-length 32 --trace" -- "${gen[@]}"
done
# Leave the caches and the archives warm for whoever measures next.
"$launcher" --version >/dev/null
"${gen[@]}" >/dev/null
