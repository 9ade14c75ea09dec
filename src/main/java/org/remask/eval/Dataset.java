package org.remask.eval;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** Reads code-generation datasets: HumanEval's and MBPP's formats, plain or gzipped (by the name's ending .gz). */
public final class Dataset {
    private Dataset() {}

    /**
     * The tasks of FILE, in file order; blank lines are skipped. Errors are one line each
     * (IllegalArgumentException for bad content, UncheckedIOException for a missing or unreadable file).
     *
     * <p>Two families of published formats load: HumanEval's ({@code task_id}, {@code prompt}, {@code entry_point},
     * {@code test} defining {@code check(candidate)}; HumanEval+'s human-eval-format release is one) and MBPP's
     * ({@code code} and {@code test_list}: the original {@code mbpp.jsonl}, the sanitized set as JSON Lines or
     * as its JSON array, and MBPP+'s release with a whole {@code test} program). EvalPlus's own format, whose
     * extra tests are inputs without expected outputs, is refused with a pointer to the release that has them.
     */
    public static List<Task> read(Path file) {
        List<Task> tasks = new ArrayList<>();
        for (Line line : lines(file, "dataset")) {
            if (line.json().containsKey("plus_input")) {
                throw new IllegalArgumentException(file + ": " + line.where() + " is in EvalPlus's own format,"
                        + " whose plus_input tests have no expected outputs: use its -OriginFmt release");
            }
            tasks.add(line.json().containsKey("test_list") ? Mbpp.task(line) : new Task(line.field("task_id", true),
                    line.field("prompt", true), line.field("entry_point", true), line.field("test", true),
                    line.field("canonical_solution", false)));
        }
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException(file + ": no tasks in the dataset");
        }
        return tasks;
    }

    /** One JSON object of a dataset or samples file; where names it in messages ("line 3", "record 3"). */
    record Line(Path file, String where, Map<String, Object> json) {
        /** The string field NAME; a missing optional one is "". */
        String field(String name, boolean required) {
            Object value = json.get(name);
            if (value == null) {
                if (required) {
                    throw new IllegalArgumentException(file + ": missing field " + name + " at " + where);
                }
                return "";
            }
            if (!(value instanceof String s)) {
                throw new IllegalArgumentException(file + ": field " + name + " at " + where + " is not a string");
            }
            return s;
        }

        /** The list-of-strings field NAME; a missing optional one is empty. */
        List<String> strings(String name, boolean required) {
            Object value = json.get(name);
            if (value == null && !required) {
                return List.of();
            }
            if (!(value instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
                throw new IllegalArgumentException(file + ": " + (value == null ? "missing field " + name
                        : "field " + name + " is not a list of strings") + " at " + where);
            }
            return list.stream().map(String.class::cast).toList();
        }

        /** The task id: a string, or MBPP's number N as PREFIX + N. */
        String taskId(String prefix) {
            return json.get("task_id") instanceof Number n && n.doubleValue() == n.longValue()
                    ? prefix + n.longValue() : field("task_id", true);
        }
    }

    /**
     * The objects of a JSON Lines file, blank lines skipped, or of a file that is one JSON array of objects
     * (sanitized MBPP's); plain, or gzipped by the name's ending .gz.
     */
    static List<Line> lines(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no such " + what + " file: " + file);
        }
        String text;
        try (InputStream raw = Files.newInputStream(file);
                InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no such " + what + " file: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read the " + what + ": " + e.getMessage(), e);
        }
        List<Line> lines = new ArrayList<>();
        if (text.stripLeading().startsWith("[")) {
            List<Object> records;
            try {
                records = JSON.std.listFrom(text);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + ": bad JSON: " + firstLine(e.getMessage()));
            }
            for (int i = 0; i < records.size(); i++) {
                if (!(records.get(i) instanceof Map<?, ?> map)) {
                    throw new IllegalArgumentException(file + ": record " + (i + 1) + " is not an object");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> json = (Map<String, Object>) map;
                lines.add(new Line(file, "record " + (i + 1), json));
            }
            return lines;
        }
        String[] rows = text.split("\n", -1);
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].isBlank()) {
                continue;
            }
            Map<String, Object> json;
            try {
                json = JSON.std.mapFrom(rows[i]);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + ": bad JSON at line " + (i + 1) + ": "
                        + firstLine(e.getMessage()));
            }
            if (json == null) {
                throw new IllegalArgumentException(file + ": bad JSON at line " + (i + 1) + ": not an object");
            }
            lines.add(new Line(file, "line " + (i + 1), json));
        }
        return lines;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
