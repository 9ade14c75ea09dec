package org.remask.eval;

/** Writes the code that follows a task's prompt (a model, given samples, or hand-written completions in tests). */
public interface Completer {
    /** The completion and the model calls it cost (0 without a model). */
    record Completion(String text, long nfe) {}

    /** The {@code sample}-th completion of the task (0, 1, ...: a model draws each with its own seed). */
    Completion complete(Task task, int sample);
}
