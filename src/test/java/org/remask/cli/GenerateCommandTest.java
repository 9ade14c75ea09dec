package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.remask.engine.Golden;

class GenerateCommandTest {
    private static final String MODEL = Golden.checkpoint(Golden.F32).toString();

    private static CliTest.Run generate(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "generate";
        all[1] = "--model";
        all[2] = MODEL;
        System.arraycopy(args, 0, all, 3, args.length);
        return CliTest.run(all);
    }

    @Test
    void jsonWithTraceMatchesTheReference() throws IOException {
        Map<?, ?> golden = Golden.list("generate.json").stream().map(c -> (Map<?, ?>) c)
                .filter(c -> c.get("case").equals("llada-blocks")).findFirst().orElseThrow();
        CliTest.Run run = generate("--prompt-ids", ids(golden.get("prompt_ids")),
                "--gen-length", "32", "--block-length", "16", "--schedule", "llada", "--steps", "8", "--format", "json",
                "--trace");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> json = JSON.std.mapFrom(run.out());
        assertEquals(golden.get("prompt_ids"), json.get("prompt_ids"));
        assertEquals(golden.get("ids"), json.get("ids"));
        assertEquals(8, ((Number) json.get("nfe")).intValue());
        assertTrue(((Number) json.get("seconds")).doubleValue() > 0);
        List<?> steps = (List<?>) json.get("steps");
        List<?> expected = (List<?>) golden.get("steps");
        assertEquals(expected.size(), steps.size());
        for (int i = 0; i < steps.size(); i++) {
            Map<?, ?> step = (Map<?, ?>) steps.get(i);
            assertEquals(((Map<?, ?>) expected.get(i)).get("positions"), step.get("positions"));
            assertEquals(((Map<?, ?>) expected.get(i)).get("tokens"), step.get("tokens"));
            assertEquals(i < 4 ? 0 : 1, ((Number) step.get("block")).intValue());
        }
    }

    /** --revise rcr on the command line: the reference's steps (revise.json), re-masked positions included. */
    @Test
    void revisionFromTheCommandLine() throws IOException {
        Map<?, ?> golden = Golden.list("revise.json").stream().map(c -> (Map<?, ?>) c)
                .filter(c -> c.get("case").equals("rcr-1block")).findFirst().orElseThrow();
        String[] base = {"--prompt-ids", ids(golden.get("prompt_ids")), "--gen-length", "16", "--steps", "8", "--trace"};
        String[] args = concat(base, "--revise", "rcr");
        CliTest.Run json = generate(concat(args, "--format", "json"));
        assertEquals(0, json.code(), json.err());
        Map<String, Object> out = JSON.std.mapFrom(json.out());
        assertEquals("rcr", out.get("revise"));
        assertEquals(golden.get("ids"), out.get("ids"));
        List<?> steps = (List<?>) out.get("steps");
        List<?> expected = (List<?>) golden.get("steps");
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(((Map<?, ?>) expected.get(i)).get("remasked"), ((Map<?, ?>) steps.get(i)).get("remasked"));
        }
        CliTest.Run text = generate(args);
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("step 2  block 0  keeping: [313, 313, 358] at [6, 7, 14]  remasking: [2]\n"),
                text.out());

        CliTest.Run unknown = generate(concat(base, "--revise", "undo"));
        assertEquals(2, unknown.code());
        assertEquals("remask: unknown revision rule 'undo' (use none, rcr, wino, remdm or edit)", unknown.err().strip());
        CliTest.Run random = generate(concat(args, "--remasking", "random"));
        assertEquals(2, random.code());
        assertEquals("remask: --revise rcr ranks positions by their confidence: use --remasking low-confidence, margin"
                + " or entropy, not random", random.err().strip());
    }

    /** --revise wino and remdm on the command line: the reference's steps; bad parameters refused in one line. */
    @Test
    void winoAndRemdmFromTheCommandLine() throws IOException {
        Map<?, ?> golden = Golden.list("revise.json").stream().map(c -> (Map<?, ?>) c)
                .filter(c -> c.get("case").equals("wino-1block")).findFirst().orElseThrow();
        String[] base = {"--prompt-ids", ids(golden.get("prompt_ids")), "--gen-length", "16"};
        CliTest.Run json = generate(concat(base, "--revise", "wino", "--trace", "--format", "json"));
        assertEquals(0, json.code(), json.err());
        Map<String, Object> out = JSON.std.mapFrom(json.out());
        assertEquals("wino --wino-wide 0.6 --wino-narrow 0.9", out.get("revise"));
        assertEquals(golden.get("ids"), out.get("ids"));
        assertEquals(golden.get("nfe"), out.get("nfe"));
        assertEquals(((Number) golden.get("nfe")).intValue() * (7 + 16 + 16), ((Number) out.get("forward_positions")).intValue(),
                "each call runs the sequence and the shadow block");
        List<?> steps = (List<?>) out.get("steps");
        assertEquals(((Map<?, ?>) ((List<?>) golden.get("steps")).get(1)).get("remasked"), ((Map<?, ?>) steps.get(1)).get("remasked"));

        for (String[] bad : List.of(
                new String[] {"--revise", "wino", "--wino-wide", "0", "--wino-narrow", "0.9"},
                new String[] {"--revise", "wino", "--wino-narrow", "1.5"},
                new String[] {"--revise", "rcr", "--wino-wide", "0.5"},
                new String[] {"--revise", "wino", "--steps", "4"},
                new String[] {"--revise", "wino", "--schedule", "threshold"},
                new String[] {"--revise", "wino", "--cache", "prefix"},
                new String[] {"--revise", "wino", "--cfg-scale", "1"},
                new String[] {"--revise", "wino", "--remasking", "margin"})) {
            CliTest.Run run = generate(concat(base, bad));
            assertEquals(2, run.code(), String.join(" ", bad) + ": " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
        }
        for (String[] bad : List.of(
                new String[] {"--revise", "remdm", "--remdm-sigma-max", "-1"},
                new String[] {"--revise", "remdm", "--remdm-eta", "0.1"},
                new String[] {"--revise", "remdm", "--remdm-strategy", "loop", "--remdm-sigma-max", "2"},
                new String[] {"--revise", "remdm", "--remdm-strategy", "loop", "--remdm-t-on", "0.05"},
                new String[] {"--revise", "remdm", "--remdm-strategy", "loop", "--remdm-eta", "1.5"},
                new String[] {"--revise", "remdm", "--remdm-strategy", "loop", "--schedule", "threshold"},
                new String[] {"--revise", "remdm", "--remdm-strategy", "again"},
                new String[] {"--revise", "remdm", "--remasking", "random"},
                new String[] {"--revise", "wino", "--remdm-eta", "0.1"})) {
            CliTest.Run run = generate(concat(base, bad));
            assertEquals(2, run.code(), String.join(" ", bad) + ": " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
        }
        assertEquals("remask: --remdm-t-on and --remdm-t-off need 0 <= t_off < t_on <= 1, not t_on 0.01 and t_off 0.05",
                generate(concat(base, "--revise", "remdm", "--remdm-strategy", "loop", "--remdm-t-on", "0.01")).err().strip());
        CliTest.Run loop = generate(concat(base, "--revise", "remdm", "--remdm-strategy", "loop", "--remdm-eta", "0.3",
                "--steps", "16", "--format", "json"));
        assertEquals(0, loop.code(), loop.err());
        Map<?, ?> loopGolden = Golden.list("revise.json").stream().map(c -> (Map<?, ?>) c)
                .filter(c -> c.get("case").equals("remdm-loop-1block")).findFirst().orElseThrow();
        assertEquals(loopGolden.get("ids"), JSON.std.mapFrom(loop.out()).get("ids"));
        assertEquals("remask: --wino-wide must be in (0, 1], not 0.0",
                generate(concat(base, "--revise", "wino", "--wino-wide", "0")).err().strip());
        assertEquals("remask: --wino-wide does not apply to --revise rcr",
                generate(concat(base, "--revise", "rcr", "--wino-wide", "0.5")).err().strip());
    }

    private static String[] concat(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    private static String ids(Object list) {
        StringBuilder text = new StringBuilder();
        for (Object id : (List<?>) list) {
            text.append(text.isEmpty() ? "" : ",").append(id);
        }
        return text.toString();
    }

    @Test
    void everyScheduleRunsFromTheCommandLine() throws IOException {
        for (String[] schedule : List.of(new String[] {"--schedule", "pyramid", "--factor", "2"},
                new String[] {"--schedule", "threshold", "--threshold", "0.9"},
                new String[] {"--schedule", "llada", "--steps", "16", "--remasking", "margin", "--temperature", "0.5",
                        "--cfg-scale", "1", "--seed", "7"})) {
            String[] args = new String[schedule.length + 6];
            System.arraycopy(new String[] {"--prompt-ids", "5,17,42", "--gen-length", "32", "--format", "json"}, 0, args,
                    0, 6);
            System.arraycopy(schedule, 0, args, 6, schedule.length);
            CliTest.Run run = generate(args);
            assertEquals(0, run.code(), run.err());
            Map<String, Object> json = JSON.std.mapFrom(run.out());
            assertEquals(32, ((List<?>) json.get("ids")).size());
            assertFalse(((List<?>) json.get("ids")).contains(336), "no mask id left in " + json.get("ids"));
        }
    }

    @Test
    void textOutputWithTrace() {
        CliTest.Run run = generate("--prompt-ids", "5,17,42", "--gen-length", "16", "--schedule", "pyramid", "--trace");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().startsWith("step 0  block 0  keeping: ["), run.out());
        assertTrue(run.out().contains("16 tokens, 5 NFE (pyramid --factor 1)"), run.out());
    }

    @Test
    void badParametersExitWith2AndOneClearLine() {
        String[][] cases = {
            {"--gen-length 30 is not a multiple of --block-length 16", "--prompt-ids", "5", "--gen-length", "30",
                "--block-length", "16"},
            {"--steps 6 is not divisible by the number of blocks 4", "--prompt-ids", "5", "--gen-length", "64",
                "--block-length", "16", "--schedule", "llada", "--steps", "6"},
            {"--factor must be at least 1", "--prompt-ids", "5", "--schedule", "pyramid", "--factor", "0"},
            {"--threshold must be in (0, 1]", "--prompt-ids", "5", "--schedule", "threshold", "--threshold", "1.5"},
            {"--threshold must be in (0, 1]", "--prompt-ids", "5", "--schedule", "threshold", "--threshold", "0"},
            {"prompt id 384 at index 1 is outside the vocabulary", "--prompt-ids", "5,384"},
            {"prompt id at index 0 is the mask id 336", "--prompt-ids", "336,5"},
            {"over the model's maximum of 4096", "--prompt-ids", "5", "--gen-length", "4096", "--block-length", "32"},
            {"unknown schedule 'cosine'", "--prompt-ids", "5", "--schedule", "cosine"},
            {"unknown remasking rule 'top-p'", "--prompt-ids", "5", "--remasking", "top-p"},
            {"temperature must be a finite number >= 0", "--prompt-ids", "5", "--temperature", "-1"},
        };
        for (String[] c : cases) {
            String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
            CliTest.Run run = generate(args);
            assertEquals(2, run.code(), String.join(" ", args) + ": " + run.err());
            assertTrue(run.err().contains(c[0]), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
        }
    }
}
