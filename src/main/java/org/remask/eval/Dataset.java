package org.remask.eval;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** Reads HumanEval's JSON Lines format, plain or gzipped (by the name's ending .gz). */
public final class Dataset {
    private Dataset() {}

    /**
     * The tasks of FILE, in file order; blank lines are skipped. Errors are one line each
     * (IllegalArgumentException for bad content, UncheckedIOException for a missing or unreadable file).
     */
    public static List<Task> read(Path file) {
        List<Task> tasks = new ArrayList<>();
        for (Line line : lines(file, "dataset")) {
            tasks.add(new Task(line.field("task_id", true), line.field("prompt", true), line.field("entry_point", true),
                    line.field("test", true), line.field("canonical_solution", false)));
        }
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException(file + ": no tasks in the dataset");
        }
        return tasks;
    }

    /** One JSON object of a JSON Lines file, with where it came from for the messages. */
    record Line(Path file, int number, Map<String, Object> json) {
        /** The string field NAME; a missing optional one is "". */
        String field(String name, boolean required) {
            Object value = json.get(name);
            if (value == null) {
                if (required) {
                    throw new IllegalArgumentException(file + ": missing field " + name + " at line " + number);
                }
                return "";
            }
            if (!(value instanceof String s)) {
                throw new IllegalArgumentException(file + ": field " + name + " at line " + number + " is not a string");
            }
            return s;
        }
    }

    /** The objects of a JSON Lines file (plain, or gzipped by the name's ending .gz); blank lines are skipped. */
    static List<Line> lines(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no such " + what + " file: " + file);
        }
        try (InputStream raw = Files.newInputStream(file);
                InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            List<Line> lines = new ArrayList<>();
            String text;
            int number = 0;
            while ((text = reader.readLine()) != null) {
                number++;
                if (text.isBlank()) {
                    continue;
                }
                Map<String, Object> json;
                try {
                    json = JSON.std.mapFrom(text);
                } catch (IOException | RuntimeException e) {
                    throw new IllegalArgumentException(file + ": bad JSON at line " + number + ": "
                            + firstLine(e.getMessage()));
                }
                if (json == null) {
                    throw new IllegalArgumentException(file + ": bad JSON at line " + number + ": not an object");
                }
                lines.add(new Line(file, number, json));
            }
            return lines;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no such " + what + " file: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read the " + what + ": " + e.getMessage(), e);
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
