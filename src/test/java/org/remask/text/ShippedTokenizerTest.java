package org.remask.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.remask.eval.Dataset;
import org.remask.eval.Task;

/**
 * The trainer's ids came from train/tokenizer.py; the engine encodes with the tokenizers library. On every
 * MiniEval prompt and solution the two must give the same ids, or the model would see at inference what it
 * never saw in training.
 */
class ShippedTokenizerTest {
    @Test
    void theEngineEncodesMiniEvalAsTheTrainerDid() throws IOException, InterruptedException {
        Path model = Path.of("models/remask-mini");
        Path minieval = Path.of("datasets/minieval.jsonl");
        Process python = new ProcessBuilder("python3", "train/tokenizer.py", "encode", minieval.toString(),
                model.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> trainer = Arrays.asList(
                new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        assertEquals(0, python.waitFor());
        Tokenizer tokenizer = Tokenizer.load(model);
        List<Task> tasks = Dataset.read(minieval);
        assertEquals(tasks.size(), trainer.size());
        for (int i = 0; i < tasks.size(); i++) {
            Task task = tasks.get(i);
            assertEquals(trainer.get(i), ids(tokenizer.encode(task.prompt())) + "|"
                    + ids(tokenizer.encode(task.canonicalSolution())), task.taskId());
        }
    }

    private static String ids(long[] ids) {
        return Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(" "));
    }
}
