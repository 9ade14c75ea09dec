package org.remask.eval;

import java.util.Objects;

/**
 * One HumanEval problem: the prompt (a signature and docstring), the name of the function the test calls,
 * the test code (defining {@code check(candidate)}) and the reference solution.
 */
public record Task(String taskId, String prompt, String entryPoint, String test, String canonicalSolution) {
    public Task {
        Objects.requireNonNull(taskId, "taskId");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(entryPoint, "entryPoint");
        Objects.requireNonNull(test, "test");
        canonicalSolution = canonicalSolution == null ? "" : canonicalSolution;
    }
}
