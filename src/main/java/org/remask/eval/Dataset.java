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
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no such dataset file: " + file);
        }
        try (InputStream raw = Files.newInputStream(file);
                InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            List<Task> tasks = new ArrayList<>();
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    tasks.add(parse(file, number, line));
                }
            }
            if (tasks.isEmpty()) {
                throw new IllegalArgumentException(file + ": no tasks in the dataset");
            }
            return tasks;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no such dataset file: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read the dataset: " + e.getMessage(), e);
        }
    }

    private static Task parse(Path file, int number, String line) {
        Map<String, Object> json;
        try {
            json = JSON.std.mapFrom(line);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": bad JSON at line " + number + ": " + firstLine(e.getMessage()));
        }
        if (json == null) {
            throw new IllegalArgumentException(file + ": bad JSON at line " + number + ": not an object");
        }
        return new Task(field(json, "task_id", file, number, true), field(json, "prompt", file, number, true),
                field(json, "entry_point", file, number, true), field(json, "test", file, number, true),
                field(json, "canonical_solution", file, number, false));
    }

    private static String field(Map<String, Object> json, String name, Path file, int number, boolean required) {
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

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
