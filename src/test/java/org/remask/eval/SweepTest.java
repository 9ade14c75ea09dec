package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.remask.sampling.LladaSchedule;
import org.remask.sampling.PyramidSchedule;
import org.remask.sampling.Schedule;
import org.remask.sampling.ThresholdSchedule;

class SweepTest {
    static final Sandbox SANDBOX = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(5)));

    /** By design: the first k(point) tasks (by index in Mini/i) pass, the others get a wrong body. */
    static int passing(Schedule schedule) {
        return switch (schedule) {
            case LladaSchedule l -> l.steps() / 16; // 64 -> 4, 32 -> 2, 16 -> 1, 8 -> 0
            case PyramidSchedule p -> 4 / p.factor(); // 1 -> 4, 2 -> 2, 4 -> 1
            case ThresholdSchedule t -> (int) Math.round(t.threshold() * 4); // 0.5 -> 2, 0.75 -> 3
            default -> throw new AssertionError(schedule);
        };
    }

    /** The fake NFE of task i: llada its steps, pyramid 64 / factor, threshold 10 + i (an average of 11.5 over 4). */
    static long nfe(Schedule schedule, int index) {
        return switch (schedule) {
            case LladaSchedule l -> l.steps();
            case PyramidSchedule p -> 64 / p.factor();
            case ThresholdSchedule t -> 10 + index;
            default -> throw new AssertionError(schedule);
        };
    }

    static Completer fake(Schedule schedule, AtomicInteger calls) {
        return (task, sample) -> {
            calls.incrementAndGet();
            int index = Integer.parseInt(task.taskId().substring(task.taskId().indexOf('/') + 1));
            String text = index < passing(schedule) ? task.canonicalSolution() : "    return None\n";
            return new Completer.Completion(text, nfe(schedule, index));
        };
    }

    static Map<String, Object> settings(long seed) {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("model", "/models/fake");
        settings.put("dataset", "mini.jsonl");
        settings.put("gen_length", 64);
        settings.put("block_length", 32);
        settings.put("temperature", 0.0);
        settings.put("remasking", "low-confidence");
        settings.put("seed", seed);
        settings.put("limit", null);
        return settings;
    }

    static List<Task> tasks() {
        return Dataset.read(DatasetTest.resource("mini.jsonl"));
    }

    static List<String> rows(Path dir) throws IOException {
        return Files.readAllLines(dir.resolve(Sweep.CSV));
    }

    @Test
    void defaultGridIsValid() {
        assertEquals(List.of(64, 32, 16, 8), Sweep.defaultLladaSteps(64, 32));
        assertEquals(List.of(128, 64, 32, 16), Sweep.defaultLladaSteps(128, 32));
        assertEquals(List.of(256, 128, 64, 32), Sweep.defaultLladaSteps(256, 32));
        assertEquals(List.of(16, 8, 4, 2), Sweep.defaultLladaSteps(16, 16));
        int[][] lengths = {{64, 32}, {128, 32}, {256, 32}, {64, 64}, {96, 32}, {8, 8}, {32, 4}};
        for (int[] lb : lengths) {
            int blocks = lb[0] / lb[1];
            List<Integer> steps = Sweep.defaultLladaSteps(lb[0], lb[1]);
            assertFalse(steps.isEmpty(), Arrays.toString(lb));
            for (int s : steps) {
                assertEquals(0, s % blocks, Arrays.toString(lb) + " steps " + s);
            }
            List<Sweep.Point> grid = Sweep.grid(Sweep.DEFAULT_SCHEDULES, steps, Sweep.DEFAULT_PYRAMID_FACTORS,
                    Sweep.DEFAULT_THRESHOLDS);
            assertEquals(steps.size() + 12, grid.size());
            grid.forEach(p -> p.toSchedule().validate(lb[0], lb[1]));
        }
        assertThrows(IllegalArgumentException.class, () -> Sweep.defaultLladaSteps(64, 24));
        assertEquals(new Sweep.Point("threshold", "0.90"), Sweep.Point.threshold(0.9));
        assertThrows(IllegalArgumentException.class, () -> new Sweep.Point("cosine", "1"));
        assertThrows(IllegalArgumentException.class, () -> new Sweep.Point("llada", "x"));
    }

    @Test
    void writesTheCsvThePlotAndTheSummary(@TempDir Path dir) throws IOException {
        List<Sweep.Point> grid = Sweep.grid(Sweep.DEFAULT_SCHEDULES, List.of(64, 32, 16, 8), List.of(1, 2, 4),
                List.of(0.5, 0.75));
        AtomicInteger calls = new AtomicInteger();
        StringWriter log = new StringWriter();
        Sweep sweep = new Sweep(dir, settings(0), "pass@1 against NFE: fake on mini.jsonl", false);
        List<Sweep.Result> results = sweep.run(grid, tasks(), p -> fake(p.toSchedule(), calls), SANDBOX, null,
                new PrintWriter(log));
        assertEquals(9 * 4, calls.get());
        assertEquals(9, results.size());
        assertTrue(log.toString().contains("[9/9] threshold 0.75"), log.toString());

        List<String> lines = rows(dir);
        assertEquals(Sweep.HEADER, lines.getFirst());
        assertEquals("schedule,parameter,nfe,pass_at_1,seconds,tasks,passed,revise", lines.getFirst());
        assertEquals(10, lines.size());
        String[][] expected = {
            {"llada", "64", "64", "1"}, {"llada", "32", "32", "0.5"}, {"llada", "16", "16", "0.25"},
            {"llada", "8", "8", "0"}, {"pyramid", "1", "64", "1"}, {"pyramid", "2", "32", "0.5"},
            {"pyramid", "4", "16", "0.25"}, {"threshold", "0.5", "11.5", "0.5"}, {"threshold", "0.75", "11.5", "0.75"},
        };
        for (int i = 0; i < expected.length; i++) {
            String[] f = lines.get(i + 1).split(",");
            assertEquals(8, f.length, lines.get(i + 1));
            assertEquals("none", f[7], lines.get(i + 1));
            assertEquals(expected[i][0], f[0]);
            assertEquals(expected[i][1], f[1]);
            assertEquals(Double.parseDouble(expected[i][2]), Double.parseDouble(f[2]), 1e-9, lines.get(i + 1));
            double passAt1 = Double.parseDouble(expected[i][3]);
            assertEquals(passAt1, Double.parseDouble(f[3]), 1e-9, lines.get(i + 1));
            assertTrue(Double.parseDouble(f[4]) > 0, lines.get(i + 1));
            assertEquals("4", f[5]);
            assertEquals(Math.round(passAt1 * 4), Long.parseLong(f[6]), lines.get(i + 1));
        }

        byte[] png = Files.readAllBytes(dir.resolve(Sweep.PNG));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(png, 8));
        BufferedImage image = ImageIO.read(dir.resolve(Sweep.PNG).toFile());
        assertTrue(image.getWidth() > 0 && image.getHeight() > 0);
        assertEquals("true", System.getProperty("java.awt.headless"));
        assertTrue(Files.readString(dir.resolve(Sweep.JSON_FILE)).contains("\"gen_length\""));

        StringWriter table = new StringWriter();
        Sweep.printTable(results, new PrintWriter(table));
        String text = table.toString();
        assertTrue(text.startsWith("schedule"), text);
        assertEquals(10, text.lines().count(), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("llada\\s+64\\s+64\\.0\\s+1\\.0000\\s+4\\s+4\\s+.*")), text);
        List<Map<String, Object>> json = Sweep.json(results);
        assertEquals(9, json.size());
        assertEquals(List.of("schedule", "parameter", "nfe", "pass_at_1", "seconds", "tasks", "passed", "revise"),
                List.copyOf(json.getFirst().keySet()));
        // By schedule, then NFE: llada 8 comes first.
        assertEquals("8", json.getFirst().get("parameter"));
    }

    @Test
    void anInterruptedSweepResumesWhereItStopped(@TempDir Path dir) throws IOException {
        List<Task> tasks = tasks().subList(0, 2);
        List<Sweep.Point> grid = Sweep.grid(Sweep.DEFAULT_SCHEDULES, List.of(64, 32), List.of(1, 2), List.of(0.5));
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger points = new AtomicInteger();
        Function<Sweep.Point, Completer> interrupted = p -> {
            if (points.incrementAndGet() == 3) {
                throw new IllegalStateException("interrupted");
            }
            return fake(p.toSchedule(), calls);
        };
        Sweep first = new Sweep(dir, settings(0), "t", false);
        assertThrows(IllegalStateException.class, () -> first.run(grid, tasks, interrupted, SANDBOX, null, null));
        assertEquals(4, calls.get());
        assertEquals(3, rows(dir).size());
        // A row cut short by the interruption is dropped on resume.
        Files.writeString(dir.resolve(Sweep.CSV), "pyramid,1,64.0", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);

        calls.set(0);
        StringWriter log = new StringWriter();
        Sweep second = new Sweep(dir, settings(0), "t", false);
        assertEquals(2, second.results().size());
        List<Sweep.Result> results = second.run(grid, tasks, p -> fake(p.toSchedule(), calls), SANDBOX, null,
                new PrintWriter(log));
        assertEquals(3 * 2, calls.get(), "only the three missing points run");
        assertEquals(5, results.size());
        assertTrue(log.toString().contains("2 of 5 grid points already in"), log.toString());
        List<String> lines = rows(dir);
        assertEquals(6, lines.size(), lines.toString());
        assertEquals(List.of("llada,64", "llada,32", "pyramid,1", "pyramid,2", "threshold,0.5"),
                lines.subList(1, 6).stream().map(l -> l.substring(0, l.indexOf(',', l.indexOf(',') + 1))).toList());
        assertTrue(lines.stream().allMatch(l -> l.split(",").length == 8), lines.toString());

        calls.set(0);
        new Sweep(dir, settings(0), "t", false).run(grid, tasks, p -> fake(p.toSchedule(), calls), SANDBOX, null, null);
        assertEquals(0, calls.get(), "a finished sweep runs nothing");
        assertEquals(6, rows(dir).size());

        IllegalArgumentException changed = assertThrows(IllegalArgumentException.class,
                () -> new Sweep(dir, settings(1), "t", false));
        assertTrue(changed.getMessage().contains("seed 0 -> 1"), changed.getMessage());
        assertTrue(changed.getMessage().contains("--restart"), changed.getMessage());
        assertFalse(changed.getMessage().contains("\n"), changed.getMessage());
        assertEquals(6, rows(dir).size(), "a refused resume leaves the results");

        Sweep restarted = new Sweep(dir, settings(1), "t", true);
        assertTrue(restarted.results().isEmpty());
        assertEquals(List.of(Sweep.HEADER), rows(dir));
        assertFalse(Files.exists(dir.resolve(Sweep.PNG)));
        calls.set(0);
        restarted.run(grid.subList(0, 1), tasks, p -> fake(p.toSchedule(), calls), SANDBOX, null, null);
        assertEquals(2, calls.get());
        assertTrue(Files.readString(dir.resolve(Sweep.JSON_FILE)).contains("1"));
    }

    @Test
    void aCsvWithoutItsSettingsIsRefused(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(Sweep.CSV), Sweep.HEADER + "\nllada,64,64,1,1,4,4\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Sweep(dir, settings(0), "t", false));
        assertTrue(e.getMessage().contains("--restart"), e.getMessage());
    }

    /** A grid per revision rule (wino at the thresholds), the rule in the CSV, and a CSV from before the column. */
    @Test
    void revisionRulesInTheGridAndTheCsv(@TempDir Path dir) throws IOException {
        List<Sweep.Point> grid = Sweep.grid(List.of("llada", "threshold"), List.of(8), List.of(), List.of(0.9),
                List.of("none", "rcr", "wino"));
        assertEquals(List.of(new Sweep.Point("llada", "8"), new Sweep.Point("threshold", "0.9"),
                new Sweep.Point("llada", "8", "rcr"), new Sweep.Point("threshold", "0.9", "rcr"),
                new Sweep.Point("threshold", "0.9", "wino")), grid);
        assertEquals("wino", grid.get(4).curve());
        assertEquals("llada + rcr", grid.get(2).curve());
        assertThrows(IllegalArgumentException.class, () -> new Sweep.Point("llada", "8", "wino"));
        assertThrows(IllegalArgumentException.class, () -> new Sweep.Point("llada", "8", "undo"));

        Sweep sweep = new Sweep(dir, settings(0), "t", false);
        AtomicInteger calls = new AtomicInteger();
        sweep.run(grid, tasks().subList(0, 1), p -> fake(p.toSchedule(), calls), SANDBOX, null, null);
        List<String> lines = Files.readAllLines(dir.resolve(Sweep.CSV));
        assertEquals(Sweep.HEADER, lines.get(0));
        assertTrue(lines.get(5).startsWith("threshold,0.9,") && lines.get(5).endsWith(",wino"), lines.get(5));

        // A CSV written before the revise column: its rows are without revision, and it resumes.
        Path old = dir.resolve("old");
        Files.createDirectories(old);
        Files.writeString(old.resolve(Sweep.CSV), "schedule,parameter,nfe,pass_at_1,seconds,tasks,passed\n"
                + "llada,8,8.0000,1.000000,0.100,1,1\n");
        Files.copy(dir.resolve(Sweep.JSON_FILE), old.resolve(Sweep.JSON_FILE));
        Sweep resumed = new Sweep(old, settings(0), "t", false);
        assertTrue(resumed.done(new Sweep.Point("llada", "8")));
        assertEquals("llada,8,8.0000,1.000000,0.100,1,1,none", Files.readAllLines(old.resolve(Sweep.CSV)).get(1));
    }
}
