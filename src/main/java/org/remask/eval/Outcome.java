package org.remask.eval;

/** How one sandboxed run ended. */
public enum Outcome {
    /** The task's check() ran to its end in the trusted checker: every call of the candidate was answered right. */
    PASSED,
    /** A failed assert, an exception, a program that does not load, an early exit, a result that is not plain data. */
    FAILED,
    /** It ran past the wall-clock timeout and was killed with everything it started. */
    TIMEOUT,
    /** Killed by a signal (a segfault, SIGKILL, the CPU or file-size limit). */
    CRASHED,
    /** The harness itself failed (no python3, cannot set up the sandbox), or the task's own code does not run. */
    ERROR
}
