package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** remask eval --sweep with the tiny chat model (garbage completions): the files, the NFE, resuming. */
class SweepCommandTest {
    static EvalCommandTest.Run sweep(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("eval", "--model", EvalCommandTest.model(), "--dataset",
                DatasetTest.resource("mini.jsonl").toString(), "--limit", "1", "--gen-length", "16",
                "--block-length", "16", "--timeout", "5", "--sweep", "--out", out.toString(),
                "--llada-steps", "16,8", "--pyramid-factors", "2", "--thresholds", "0.9"));
        args.addAll(List.of(extra));
        return EvalCommandTest.run(args.toArray(String[]::new));
    }

    @Test
    void sweepsResumesAndRefusesOtherSettings(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("sweep");
        EvalCommandTest.Run run = sweep(out, "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<Object> points = JSON.std.listFrom(run.out());
        assertEquals(4, points.size());
        for (Object o : points) {
            Map<?, ?> p = (Map<?, ?>) o;
            double nfe = ((Number) p.get("nfe")).doubleValue();
            switch ((String) p.get("schedule")) {
                case "llada" -> assertEquals(Double.parseDouble((String) p.get("parameter")), nfe, p.toString());
                case "pyramid", "threshold" -> assertTrue(nfe >= 1 && nfe <= 16, p.toString());
                default -> throw new AssertionError(p);
            }
            assertEquals(1, ((Number) p.get("tasks")).intValue());
        }
        assertEquals(5, Files.readAllLines(out.resolve("sweep.csv")).size());
        assertTrue(Files.size(out.resolve("sweep.png")) > 0);
        assertTrue(Files.exists(out.resolve("sweep.json")));

        EvalCommandTest.Run again = sweep(out);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("4 of 4 grid points already in"), again.err());
        assertTrue(again.out().startsWith("schedule"), again.out());
        assertTrue(again.out().contains("wrote "), again.out());
        assertEquals(5, Files.readAllLines(out.resolve("sweep.csv")).size());

        EvalCommandTest.Run changed = sweep(out, "--seed", "1");
        assertEquals(2, changed.code(), changed.err());
        assertEquals(1, changed.err().strip().lines().count(), changed.err());
        assertTrue(changed.err().contains("seed 0 -> 1") && changed.err().contains("--restart"), changed.err());

        EvalCommandTest.Run restarted = sweep(out, "--seed", "1", "--restart", "--quiet",
                "--sweep-schedules", "llada");
        assertEquals(0, restarted.code(), restarted.err());
        assertEquals(3, Files.readAllLines(out.resolve("sweep.csv")).size());
    }

    /** --sweep-revisions: each rule's grid, wino at the thresholds; --revise and --wino-wide are refused beside it. */
    @Test
    void sweepsRevisionRules(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("sweep");
        EvalCommandTest.Run run = sweep(out, "--sweep-schedules", "llada", "--sweep-revisions", "none,rcr,remdm,wino",
                "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<Object> points = JSON.std.listFrom(run.out());
        assertEquals(List.of("none", "none", "rcr", "rcr", "wino", "remdm", "remdm"),
                points.stream().map(p -> ((Map<?, ?>) p).get("revise")).toList());
        assertEquals("threshold", ((Map<?, ?>) points.get(4)).get("schedule"));
        assertTrue(Files.readAllLines(out.resolve("sweep.csv")).get(1).endsWith(",none"));

        EvalCommandTest.Run revise = sweep(dir.resolve("other"), "--revise", "rcr");
        assertEquals(2, revise.code());
        assertEquals("remask: --sweep runs the grid for each of --sweep-revisions: --revise goes without it",
                revise.err().strip());
        EvalCommandTest.Run wide = sweep(dir.resolve("other"), "--sweep-revisions", "wino", "--wino-wide", "0.5");
        assertEquals(2, wide.code());
        assertEquals("remask: --sweep runs wino at each of --thresholds: --wino-wide goes without it", wide.err().strip());
        EvalCommandTest.Run unknown = sweep(dir.resolve("other"), "--sweep-revisions", "undo");
        assertEquals(2, unknown.code());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
    }

    /**
     * A rule's parameters reach its points and leave the others alone: with --edit-steps beside none and edit, every
     * point generates (0 NFE would mean each task failed to build its request), and edit's spend more calls.
     */
    @Test
    void aRuleParameterGoesToItsPointsOnly(@TempDir Path dir) throws IOException {
        EvalCommandTest.Run run = sweep(dir.resolve("sweep"), "--sweep-schedules", "llada", "--sweep-revisions",
                "none,edit", "--edit-threshold", "0", "--edit-steps", "3", "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<Object> points = JSON.std.listFrom(run.out());
        assertEquals(List.of("none", "none", "edit", "edit"), points.stream().map(p -> ((Map<?, ?>) p).get("revise")).toList());
        for (int i = 0; i < 2; i++) {
            double plain = ((Number) ((Map<?, ?>) points.get(i)).get("nfe")).doubleValue();
            double edit = ((Number) ((Map<?, ?>) points.get(i + 2)).get("nfe")).doubleValue();
            assertTrue(plain > 0 && edit > plain && edit <= plain + 3, plain + " and " + edit + " NFE per task");
        }
        EvalCommandTest.Run other = sweep(dir.resolve("sweep"), "--sweep-schedules", "llada", "--sweep-revisions",
                "none,edit", "--edit-threshold", "0.5", "--edit-steps", "3");
        assertEquals(2, other.code(), "the rule's parameters are the sweep's settings: another one is not resumed over");
        assertTrue(other.err().contains("edit_threshold 0.0 -> 0.5"), other.err());
    }

    /** The dataset is recorded by its content, not only its path: an edited one is not resumed over. */
    @Test
    void refusesToResumeOverAnEditedDataset(@TempDir Path dir) throws IOException {
        Path dataset = dir.resolve("tasks.jsonl");
        Files.copy(DatasetTest.resource("mini.jsonl"), dataset);
        String[] args = {"eval", "--model", EvalCommandTest.model(), "--dataset", dataset.toString(), "--limit", "1",
            "--gen-length", "16", "--block-length", "16", "--sweep", "--out", dir.resolve("sweep").toString(),
            "--sweep-schedules", "llada", "--llada-steps", "16", "--quiet"};
        EvalCommandTest.Run first = EvalCommandTest.run(args);
        assertEquals(0, first.code(), first.err());
        Map<String, Object> settings = JSON.std.mapFrom(Files.readString(dir.resolve("sweep/sweep.json")));
        assertEquals(dataset.toString(), settings.get("dataset"), "outside the project: absolute");

        Files.writeString(dataset, Files.readString(dataset).replace("return", "return "));
        EvalCommandTest.Run edited = EvalCommandTest.run(args);
        assertEquals(2, edited.code(), edited.err());
        assertTrue(edited.err().strip().lines().count() == 1 && edited.err().contains("dataset_sha256 "),
                edited.err());
    }

    @Test
    void aScheduleParameterIsRefusedBesideTheGrid(@TempDir Path dir) {
        EvalCommandTest.Run run = sweep(dir.resolve("sweep"), "--steps", "8");
        assertEquals(2, run.code(), run.err());
        assertTrue(run.err().contains("--steps, --factor and --threshold go without it"), run.err());
    }

    @Test
    void usageErrors(@TempDir Path dir) {
        String mini = DatasetTest.resource("mini.jsonl").toString();
        EvalCommandTest.Run noOut = EvalCommandTest.run("eval", "--model", EvalCommandTest.model(), "--dataset", mini,
                "--sweep");
        assertEquals(2, noOut.code(), noOut.err());
        assertTrue(noOut.err().contains("--out"), noOut.err());
        EvalCommandTest.Run noSweep = EvalCommandTest.run("eval", "--model", EvalCommandTest.model(), "--dataset",
                mini, "--out", dir.toString());
        assertEquals(2, noSweep.code(), noSweep.err());
        EvalCommandTest.Run badSteps = sweep(dir.resolve("bad"), "--thresholds", "1.5");
        assertEquals(2, badSteps.code(), badSteps.err());
        assertTrue(badSteps.err().contains("threshold 1.5"), badSteps.err());
        assertTrue(!Files.exists(dir.resolve("bad")), "nothing is written for a bad grid");
    }
}
