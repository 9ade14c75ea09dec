# shellcheck shell=bash
# Sourced by scripts/test and scripts/remask: a cheap check (no apt, no dpkg database scan beyond one
# query) that the build tools are there, so scripts/setup runs only when something is missing.
# REMASK_SKIP_SETUP=1 skips the check (e.g. with a libtorch of your own instead of libtorch-dev).

remask_have_tools() {
    [[ "${REMASK_SKIP_SETUP:-0}" == 1 ]] && return 0
    local cmd
    for cmd in cmake g++ make mvn python3 bwrap; do
        command -v "$cmd" >/dev/null 2>&1 || return 1
    done
    [[ -f /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]] || return 1
    [[ -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ]] ||
        dpkg-query -W -f='${Status}' libtorch-dev 2>/dev/null | grep -q 'install ok installed'
}

# Runs scripts/setup when remask_have_tools says something is missing; its output goes to stderr.
remask_ensure_tools() {
    remask_have_tools && return 0
    echo "remask: some build tools are missing; running scripts/setup" >&2
    "$(dirname "${BASH_SOURCE[0]}")/../setup" >&2
}
