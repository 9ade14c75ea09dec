package org.remask.eval;

/** Writes the code that follows a task's prompt (a model, or hand-written completions in tests). */
public interface Completer {
    /** The completion and the model calls it cost (0 without a model). */
    record Completion(String text, long nfe) {}

    Completion complete(Task task);
}
