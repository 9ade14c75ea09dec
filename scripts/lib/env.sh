# shellcheck shell=bash
# Sourced by the scripts in scripts/: defines ROOT (the repository root) and puts a JDK 25+ first
# on PATH with JAVA_HOME set, or prints one error line and exits 1. Also sets MAVEN_OPTS for Maven 3.8
# on that JDK: its Guava calls sun.misc.Unsafe, which JDK 24+ warns about at every start, and its
# Jansi writes colour-reset codes (ESC[0m) to the console even with -B unless told not to.
#
# Where a JDK is looked for, in order: $JAVA_HOME (if it is 25 or newer),
# /usr/lib/jvm/temurin-25-jdk-amd64, then any /usr/lib/jvm/*25*.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Prints the feature (major) version of the JDK at $1, or nothing if $1 is not a JDK.
remask_jdk_major() {
    local home="$1" line ver
    [[ -n "$home" && -x "$home/bin/java" && -x "$home/bin/javac" ]] || return 0
    line="$("$home/bin/java" -version 2>&1 | grep -m1 -E 'version "[0-9]')" || return 0
    ver="${line#*version \"}"
    ver="${ver%%\"*}"
    ver="${ver#1.}"                 # 1.8.0_x -> 8.0_x
    ver="${ver%%[!0-9]*}"           # 25.0.3 -> 25, 25-ea -> 25
    printf '%s\n' "$ver"
}

remask_find_jdk() {
    local candidate major
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25*; do
        [[ -n "$candidate" && -d "$candidate" ]] || continue
        major="$(remask_jdk_major "$candidate")"
        if [[ -n "$major" ]] && (( major >= 25 )); then
            (cd "$candidate" && pwd -P)
            return 0
        fi
    done
    return 1
}

if ! REMASK_JAVA_HOME="$(remask_find_jdk)"; then
    echo "error: remask needs JDK 25 or newer, and none was found (JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm/temurin-25-jdk-amd64, /usr/lib/jvm/*25*): install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
    exit 1
fi
export JAVA_HOME="$REMASK_JAVA_HOME"
unset REMASK_JAVA_HOME
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow -Djansi.noreset=true"
case ":$PATH:" in
    "$JAVA_HOME/bin:"*) ;;
    *) export PATH="$JAVA_HOME/bin:$PATH" ;;
esac
