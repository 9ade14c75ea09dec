package org.remask.eval;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.remask.sampling.Revision;
import org.remask.sampling.Schedule;
import org.remask.sampling.ScheduleKind;

/**
 * The same tasks over a grid of schedules, NFE budgets and revision rules. Each grid point runs every task
 * through an {@link Evaluator}; its row (schedule, parameter, NFE per task, pass@1, seconds, tasks, passed,
 * revision rule) is appended to {@code DIR/sweep.csv} and flushed as soon as the point completes, and
 * {@code DIR/sweep.png} (pass@1 against NFE, one line per schedule and rule) is redrawn. A sweep that is started again skips the points already in
 * the CSV, provided its fixed settings ({@code DIR/sweep.json}) are the same.
 */
public final class Sweep {
    public static final String CSV = "sweep.csv";
    public static final String JSON_FILE = "sweep.json";
    public static final String PNG = "sweep.png";
    public static final String HEADER = "schedule,parameter,nfe,pass_at_1,seconds,tasks,passed,revise";
    /** The header before the revise column: its rows are all without revision. */
    private static final String HEADER_WITHOUT_REVISE = "schedule,parameter,nfe,pass_at_1,seconds,tasks,passed";
    public static final List<String> SCHEDULES = ScheduleKind.names();
    /** The schedules a sweep runs unless told: those made for any model. */
    public static final List<String> DEFAULT_SCHEDULES = SCHEDULES.subList(0, 3);
    public static final List<Integer> DEFAULT_PYRAMID_FACTORS = List.of(1, 2, 3, 4, 6, 8);
    public static final List<Double> DEFAULT_THRESHOLDS = List.of(0.99, 0.95, 0.9, 0.8, 0.7, 0.5);

    static {
        headless();
    }

    /** The plot is drawn off-screen: sets java.awt.headless (unless set already) before any AWT class loads. */
    public static void headless() {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /**
     * One grid point: a schedule name, its parameter in canonical text (steps, factor or threshold) and a revision
     * rule's name. wino, which drafts by its own threshold, runs at threshold points, the threshold its wide one.
     */
    public record Point(String schedule, String parameter, String revise) {
        public Point {
            Objects.requireNonNull(schedule, "schedule");
            Objects.requireNonNull(parameter, "parameter");
            Objects.requireNonNull(revise, "revise");
            parameter = ScheduleKind.parse(schedule).canonical(parameter);
            if (!Revision.names().contains(revise)) {
                throw new IllegalArgumentException("unknown revision rule '" + revise + "'");
            }
            if (revise.equals("wino") && !schedule.equals(ScheduleKind.THRESHOLD.cliName())) {
                throw new IllegalArgumentException("wino runs at threshold points, not " + schedule);
            }
        }

        public Point(String schedule, String parameter) {
            this(schedule, parameter, "none");
        }

        public Point withRevise(String rule) {
            return new Point(schedule, parameter, rule);
        }

        public static Point llada(int steps) {
            return new Point(ScheduleKind.LLADA.cliName(), Integer.toString(steps));
        }

        public static Point pyramid(int factor) {
            return new Point(ScheduleKind.PYRAMID.cliName(), Integer.toString(factor));
        }

        public static Point threshold(double threshold) {
            return new Point(ScheduleKind.THRESHOLD.cliName(), Double.toString(threshold));
        }

        public Schedule toSchedule() {
            return ScheduleKind.parse(schedule).make(parameter);
        }

        /** The parameter as a number (for sorting). */
        double value() {
            return Double.parseDouble(parameter);
        }

        /** The curve the point belongs to: the schedule, and the rule unless none (wino's own, its wide threshold). */
        public String curve() {
            return revise.equals("wino") ? "wino" : revise.equals("none") ? schedule : schedule + " + " + revise;
        }

        @Override
        public String toString() {
            return schedule + " " + parameter + (revise.equals("none") ? "" : " --revise " + revise);
        }
    }

    /** One completed grid point, a row of the CSV. NFE is the average per task. */
    public record Result(Point point, double nfe, double passAt1, double seconds, int tasks, int passed) {
        String csv() {
            return String.format(Locale.ROOT, "%s,%s,%.4f,%.6f,%.3f,%d,%d,%s", point.schedule(), point.parameter(), nfe,
                    passAt1, seconds, tasks, passed, point.revise());
        }

        /** A row of the CSV; one of 7 fields (written before the revise column) is without revision. */
        static Result parse(String line) {
            String[] f = line.split(",", -1);
            if (f.length != 7 && f.length != 8) {
                throw new IllegalArgumentException("expected 8 fields");
            }
            return new Result(new Point(f[0], f[1], f.length == 8 ? f[7] : "none"), Double.parseDouble(f[2]),
                    Double.parseDouble(f[3]), Double.parseDouble(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6]));
        }

        public Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("schedule", point.schedule());
            m.put("parameter", point.parameter());
            m.put("nfe", nfe);
            m.put("pass_at_1", passAt1);
            m.put("seconds", seconds);
            m.put("tasks", tasks);
            m.put("passed", passed);
            m.put("revise", point.revise());
            return m;
        }
    }

    /**
     * LLaDA step counts for gen length L and block length B: L, L/2, L/4 and L/8, keeping those that are
     * whole multiples of the block count L / B (so every one is a valid --steps).
     */
    public static List<Integer> defaultLladaSteps(int genLength, int blockLength) {
        if (genLength < 1 || blockLength < 1 || genLength % blockLength != 0) {
            throw new IllegalArgumentException("--gen-length " + genLength + " is not a multiple of --block-length "
                    + blockLength);
        }
        int blocks = genLength / blockLength;
        List<Integer> steps = new ArrayList<>();
        for (int d = 1; d <= 8; d *= 2) {
            if (genLength % d == 0 && (genLength / d) % blocks == 0 && genLength / d >= blocks) {
                steps.add(genLength / d);
            }
        }
        return steps;
    }

    /** The grid in run order: the chosen schedules, each with its parameters as listed (duplicates dropped). */
    public static List<Point> grid(List<String> schedules, List<Integer> lladaSteps, List<Integer> pyramidFactors,
            List<Double> thresholds) {
        return grid(schedules, lladaSteps, pyramidFactors, thresholds, List.of("none"));
    }

    /** The grid for each revision rule in turn; wino's points are the thresholds (its wide one), whatever schedules. */
    public static List<Point> grid(List<String> schedules, List<Integer> lladaSteps, List<Integer> pyramidFactors,
            List<Double> thresholds, List<String> revisions) {
        Set<Point> points = new LinkedHashSet<>();
        for (String revise : revisions) {
            if (revise.equals("wino")) {
                thresholds.forEach(t -> points.add(Point.threshold(t).withRevise(revise)));
                continue;
            }
            for (String schedule : schedules) {
                switch (ScheduleKind.parse(schedule)) {
                    case LLADA -> lladaSteps.forEach(s -> points.add(Point.llada(s).withRevise(revise)));
                    case PYRAMID -> pyramidFactors.forEach(f -> points.add(Point.pyramid(f).withRevise(revise)));
                    case THRESHOLD -> thresholds.forEach(t -> points.add(Point.threshold(t).withRevise(revise)));
                    case DREAM, LLADA2 -> lladaSteps.forEach(s -> points.add(
                            new Point(schedule, Integer.toString(s)).withRevise(revise)));
                }
            }
        }
        if (points.isEmpty()) {
            throw new IllegalArgumentException("the sweep grid is empty");
        }
        return List.copyOf(points);
    }

    private final Path dir;
    private final Map<String, Object> settings;
    private final String title;
    private final List<Result> results = new ArrayList<>();

    /**
     * Opens (or starts) the sweep in {@code dir}. With {@code restart} earlier results are discarded;
     * otherwise the CSV's rows are kept and the settings must equal those in {@code sweep.json}
     * ({@link IllegalArgumentException} with a one-line message when they differ).
     */
    public Sweep(Path dir, Map<String, Object> settings, String title, boolean restart) {
        this.dir = dir;
        this.settings = normalized(settings);
        this.title = title;
        try {
            Files.createDirectories(dir);
            Path csv = dir.resolve(CSV);
            Path json = dir.resolve(JSON_FILE);
            if (restart) {
                Files.deleteIfExists(csv);
                Files.deleteIfExists(dir.resolve(PNG));
            } else if (Files.exists(json)) {
                Map<String, Object> before = JSON.std.mapFrom(Files.readString(json));
                if (!before.equals(this.settings)) {
                    throw new IllegalArgumentException("the sweep in " + dir + " was run with other settings ("
                            + difference(before, this.settings) + "): use --restart to discard it, or another --out");
                }
                readCsv(csv);
            } else if (Files.exists(csv)) {
                throw new IllegalArgumentException(csv + " exists without " + JSON_FILE
                        + ": use --restart to discard it, or another --out");
            }
            writeAtomically(json, (JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(this.settings) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            // The CSV is rewritten with its valid rows only, so a row cut short by an interruption goes.
            StringBuilder text = new StringBuilder(HEADER).append('\n');
            results.forEach(r -> text.append(r.csv()).append('\n'));
            writeAtomically(csv, text.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set up the sweep in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> normalized(Map<String, Object> settings) {
        try {
            return JSON.std.mapFrom(JSON.std.asString(settings));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String difference(Map<String, Object> before, Map<String, Object> now) {
        Set<String> keys = new TreeSet<>(before.keySet());
        keys.addAll(now.keySet());
        List<String> changes = new ArrayList<>();
        for (String key : keys) {
            if (!Objects.equals(before.get(key), now.get(key))) {
                changes.add(key + " " + before.get(key) + " -> " + now.get(key));
            }
        }
        return String.join(", ", changes);
    }

    private void readCsv(Path csv) throws IOException {
        if (!Files.exists(csv)) {
            return;
        }
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            return;
        }
        if (!lines.getFirst().strip().equals(HEADER) && !lines.getFirst().strip().equals(HEADER_WITHOUT_REVISE)) {
            throw new IllegalArgumentException(csv + " does not start with the header " + HEADER
                    + ": use --restart to discard it, or another --out");
        }
        Set<Point> seen = new LinkedHashSet<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            try {
                Result r = Result.parse(line.strip());
                if (seen.add(r.point())) {
                    results.add(r);
                }
            } catch (IllegalArgumentException e) {
                // A row cut short when the sweep was interrupted: that point runs again.
            }
        }
    }

    public Path dir() {
        return dir;
    }

    /** The completed points so far (read from the CSV, then those run), in completion order. */
    public List<Result> results() {
        return List.copyOf(results);
    }

    public boolean done(Point point) {
        return results.stream().anyMatch(r -> r.point().equals(point));
    }

    /**
     * Runs every grid point not yet done: the tasks, with the completer that {@code completers} makes for the
     * point. {@code taskProgress} gets the evaluator's per-task line (null for none), {@code log}
     * a line per point (null for none). Returns all completed points, the earlier ones included.
     */
    public List<Result> run(List<Point> grid, List<Task> tasks, Function<Point, Completer> completers,
            Sandbox sandbox, PrintWriter taskProgress, PrintWriter log) {
        List<Point> todo = grid.stream().filter(p -> !done(p)).toList();
        if (log != null && todo.size() < grid.size()) {
            log.printf(Locale.ROOT, "sweep: %d of %d grid points already in %s, skipped%n", grid.size() - todo.size(),
                    grid.size(), dir.resolve(CSV));
            log.flush();
        }
        if (!results.isEmpty()) {
            plot();
        }
        long start = System.nanoTime();
        int index = 0;
        for (Point point : todo) {
            index++;
            if (log != null && taskProgress == null) {
                log.printf(Locale.ROOT, "sweep: [%d/%d] %s ...%n", index, todo.size(), point);
                log.flush();
            }
            Evaluator evaluator = new Evaluator(completers.apply(point), sandbox, taskProgress);
            Evaluator.Report report = evaluator.evaluate(tasks);
            double nfe = report.tasks() == 0 ? 0 : (double) report.nfe() / report.tasks();
            Result result = new Result(point, nfe, report.passAt1(), report.seconds(), report.tasks(),
                    report.passed());
            append(result);
            plot();
            if (log != null) {
                double elapsed = (System.nanoTime() - start) / 1e9;
                double eta = elapsed / index * (todo.size() - index);
                log.printf(Locale.ROOT, "sweep: [%d/%d] %-15s pass@1 %.4f (%d of %d)  %.1f NFE  %.1f s  (elapsed %s, "
                        + "about %s left)%n", index, todo.size(), point, result.passAt1(), result.passed(),
                        result.tasks(), result.nfe(), result.seconds(), duration(elapsed), duration(eta));
                log.flush();
            }
        }
        return results();
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    private void append(Result result) {
        try {
            Files.writeString(dir.resolve(CSV), result.csv() + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(CSV) + ": " + e.getMessage(), e);
        }
        results.add(result);
    }

    private void plot() {
        try {
            writeAtomically(dir.resolve(PNG), SweepPlot.png(title, sorted(results)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(PNG) + ": " + e.getMessage(), e);
        }
    }

    private static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Results by revision rule (none, rcr, wino, remdm), by schedule (llada, pyramid, threshold), then by NFE. */
    public static List<Result> sorted(List<Result> results) {
        return results.stream()
                .sorted(Comparator.comparingInt((Result r) -> Revision.names().indexOf(r.point().revise()))
                        .thenComparingInt(r -> SCHEDULES.indexOf(r.point().schedule()))
                        .thenComparingDouble(Result::nfe)
                        .thenComparingDouble(r -> r.point().value()))
                .toList();
    }

    /** The summary table: one row per point, by rule, schedule and NFE (the rule's column only where one revises). */
    public static void printTable(List<Result> results, PrintWriter out) {
        boolean revising = results.stream().anyMatch(r -> !r.point().revise().equals("none"));
        String row = "%-9s  %9s  %9s  %7s  %6s  %5s  %9s" + (revising ? "  %s" : "%s") + "%n";
        out.printf(Locale.ROOT, row, "schedule", "parameter", "nfe", "pass@1", "passed", "tasks", "seconds",
                revising ? "revise" : "");
        for (Result r : sorted(results)) {
            out.printf(Locale.ROOT, row, r.point().schedule(), r.point().parameter(),
                    String.format(Locale.ROOT, "%.1f", r.nfe()), String.format(Locale.ROOT, "%.4f", r.passAt1()),
                    r.passed(), r.tasks(), String.format(Locale.ROOT, "%.1f", r.seconds()),
                    revising ? r.point().revise() : "");
        }
        out.flush();
    }

    /** The points as a JSON-ready list, by schedule and NFE. */
    public static List<Map<String, Object>> json(List<Result> results) {
        return sorted(results).stream().map(Result::json).toList();
    }
}
