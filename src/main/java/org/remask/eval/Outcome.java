package org.remask.eval;

/** How one sandboxed run ended. */
public enum Outcome {
    /** Exit code 0 and the harness saw the program run to its end (the tests passed). */
    PASSED,
    /** The program ran and ended otherwise: an exception (a failed assert), an early exit, a non-zero code. */
    FAILED,
    /** It ran past the wall-clock timeout and was killed with everything it started. */
    TIMEOUT,
    /** Killed by a signal (a segfault, SIGKILL, the CPU or file-size limit). */
    CRASHED,
    /** The harness itself failed (no python3, cannot set up the sandbox). */
    ERROR
}
