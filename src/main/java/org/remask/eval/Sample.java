package org.remask.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** One completion of a task, as openai/human-eval's samples.jsonl holds it ({@code task_id}, {@code completion}). */
public record Sample(String taskId, String completion) {
    public Sample {
        Objects.requireNonNull(taskId, "taskId");
        Objects.requireNonNull(completion, "completion");
    }

    /**
     * The samples of FILE (plain or .gz JSON Lines; other fields are ignored), several per task allowed, each of a
     * task of the dataset. The whole file is checked before anything is scored: a bad line, a missing field or a
     * task the dataset does not have is one line (IllegalArgumentException) naming the file and the line.
     */
    public static List<Sample> read(Path file, Map<String, Task> tasks, Path dataset) {
        List<Sample> samples = new ArrayList<>();
        for (Dataset.Line line : Dataset.lines(file, "samples")) {
            String taskId = line.field("task_id", true);
            if (!tasks.containsKey(taskId)) {
                throw new IllegalArgumentException(file + ": " + line.where() + " is a sample of " + taskId
                        + ", which " + dataset + " does not have" + (samples.isEmpty()
                        ? " (a samples file of another dataset?)" : ""));
            }
            samples.add(new Sample(taskId, line.field("completion", true)));
        }
        if (samples.isEmpty()) {
            throw new IllegalArgumentException(file + ": no samples");
        }
        return samples;
    }
}
