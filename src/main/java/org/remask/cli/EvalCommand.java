package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.remask.eval.Completer;
import org.remask.eval.Dataset;
import org.remask.eval.Evaluator;
import org.remask.eval.Outcome;
import org.remask.eval.Sample;
import org.remask.eval.Sandbox;
import org.remask.eval.Stops;
import org.remask.eval.Sweep;
import org.remask.eval.Task;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationCancelledException;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.Revision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"HumanEval-style pass@1: complete each task, run its tests in a sandboxed python3.",
                "With --sweep --out DIR: the same tasks over a grid of schedules and NFE budgets, writing DIR/sweep.csv,"
                        + " DIR/sweep.png (pass@1 against NFE) and DIR/sweep.json (the fixed settings); started again,"
                        + " it skips the grid points already in the CSV."})
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--dataset", required = true, paramLabel = "FILE",
            description = "The tasks: HumanEval's format or MBPP's, JSON Lines or a JSON array, plain or .gz.")
    Path dataset;

    @Option(names = "--timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "Wall-clock limit of each task's test run (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--memory", defaultValue = "1024", paramLabel = "MIB",
            description = "Address-space limit of each task's test run, in MiB (default: ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N tasks.")
    Integer limit;

    @Option(names = "--python", paramLabel = "PATH",
            description = "The Python interpreter of the test runs (default: /usr/bin/python3, else python3 on PATH).")
    Path python;

    @Option(names = "--site-packages",
            description = "Let the tests and the completions import the interpreter's installed packages (read-only in"
                    + " the sandbox), as HumanEval+'s tests import numpy.")
    boolean sitePackages;

    @Option(names = "--quiet", description = "No progress line on stderr.")
    boolean quiet;

    @Option(names = "--format", defaultValue = "text", paramLabel = "F", description = "text or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Option(names = "--samples", defaultValue = "1", paramLabel = "N",
            description = "Completions per task, sample i with seed --seed + i (more than one needs --temperature above 0);"
                    + " pass@k is reported for k = 1, 10, 100, ... up to N (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--samples-out", paramLabel = "FILE",
            description = "Write a JSON line per completion as its test run ends: task_id, sample, completion, result"
                    + " (passed, failed, timeout, crashed or error), passed and reason.")
    Path samplesOut;

    @Option(names = "--score", paramLabel = "FILE",
            description = "Score the completions in FILE (openai/human-eval's samples.jsonl: task_id and completion, several"
                    + " per task allowed) instead of a model's.")
    Path score;

    @Option(names = "--sweep", description = "Run the grid of --sweep-schedules (--llada-steps, --pyramid-factors,"
            + " --thresholds) instead of the one --schedule; needs --out.")
    boolean sweep;

    @Option(names = "--out", paramLabel = "DIR", description = "--sweep: the folder of sweep.csv, sweep.png and sweep.json.")
    Path out;

    @Option(names = "--restart", description = "--sweep: discard the results in --out instead of resuming.")
    boolean restart;

    @Option(names = "--sweep-schedules", split = ",", paramLabel = "S",
            description = "--sweep: which schedules (default: llada,pyramid,threshold).")
    List<String> sweepSchedules;

    @Option(names = "--llada-steps", split = ",", paramLabel = "N",
            description = "--sweep: llada step counts (default: L, L/2, L/4, L/8 that are multiples of the block count).")
    List<Integer> lladaSteps;

    @Option(names = "--pyramid-factors", split = ",", paramLabel = "F",
            description = "--sweep: pyramid factors (default: 1,2,3,4,6,8).")
    List<Integer> pyramidFactors;

    @Option(names = "--thresholds", split = ",", paramLabel = "T",
            description = "--sweep: confidence thresholds (default: 0.99,0.95,0.9,0.8,0.7,0.5).")
    List<Double> thresholds;

    @Option(names = "--sweep-revisions", split = ",", paramLabel = "R",
            description = "--sweep: the grid for each of these revision rules; wino's points are the thresholds, as"
                    + " its wide one (default: none).")
    List<String> sweepRevisions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!(timeout > 0) || Double.isInfinite(timeout)) {
            throw new IllegalArgumentException("--timeout must be a positive number of seconds, not " + timeout);
        }
        if (memory < 64) {
            throw new IllegalArgumentException("--memory must be at least 64 MiB, not " + memory);
        }
        if (limit != null && limit < 1) {
            throw new IllegalArgumentException("--limit must be at least 1, not " + limit);
        }
        if (!sweep && (out != null || restart || sweepSchedules != null || lladaSteps != null
                || pyramidFactors != null || thresholds != null || sweepRevisions != null)) {
            throw new IllegalArgumentException("--out, --restart and the grid options go with --sweep");
        }
        if (sweep && out == null) {
            throw new IllegalArgumentException("--sweep needs --out DIR");
        }
        if (sweep && !sampling.revise.equals("none")) {
            throw new IllegalArgumentException("--sweep runs the grid for each of --sweep-revisions: --revise goes"
                    + " without it");
        }
        if (sweep && sampling.scheduleParameterGiven()) {
            throw new IllegalArgumentException("--sweep runs the grid of --llada-steps, --pyramid-factors and --thresholds:"
                    + " --steps, --factor and --threshold go without it");
        }
        if (python != null && (!Files.isRegularFile(python) || !Files.isExecutable(python))) {
            throw new IllegalArgumentException("--python " + python + " is not an executable file");
        }
        if (samples < 1) {
            throw new IllegalArgumentException("--samples must be at least 1, not " + samples);
        }
        if (sweep && (samples > 1 || samplesOut != null || score != null)) {
            throw new IllegalArgumentException("--samples, --samples-out and --score go without --sweep");
        }
        if (score != null && (samples > 1 || limit != null || options.given != null)) {
            throw new IllegalArgumentException("--score scores every sample in its file, without a model: it goes"
                    + " without --model, --samples and --limit");
        }
        if (samples > 1 && sampling.temperature == 0) {
            throw new IllegalArgumentException("--samples " + samples + " needs --temperature above 0: at temperature 0"
                    + " every sample is the same");
        }
        List<Task> tasks = Dataset.read(dataset);
        if (score != null) {
            return score(tasks);
        }
        sampling.settle(GenerationConfig.read(options.model()));
        if (limit != null && limit < tasks.size()) {
            tasks = tasks.subList(0, limit);
        }
        if (sweep) {
            return sweep(tasks);
        }
        sampling.resolvedSchedule(); // bad sampling options fail before the model loads
        sampling.cacheMode();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Sandbox sandbox = sandbox(err);
        PrintWriter progress = progress(err);
        try (Session session = new Session(options); SamplesWriter writer = new SamplesWriter(samplesOut)) {
            Completer completer = (task, sample) -> complete(session, task, sample);
            return report(new Evaluator(completer, sandbox, progress).evaluate(tasks, samples, writer::write));
        }
    }

    /** --score: the given completions through the sandbox, no model. */
    private int score(List<Task> tasks) throws IOException {
        Map<String, Task> byId = new LinkedHashMap<>();
        tasks.forEach(task -> byId.put(task.taskId(), task));
        List<Sample> given = Sample.read(score, byId, dataset); // the whole file is checked before any run
        PrintWriter err = spec.commandLine().getErr();
        Sandbox sandbox = sandbox(err);
        PrintWriter progress = progress(err);
        try (SamplesWriter writer = new SamplesWriter(samplesOut)) {
            return report(Evaluator.score(given, byId, sandbox, progress, writer::write));
        }
    }

    /** Prints the report; exit 1 when some completion could not be run (its reason is in the report). */
    private int report(Evaluator.Report report) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.println(JSON.std.asString(report.json()));
        } else {
            report.printTable(out);
        }
        out.flush();
        if (report.errors() > 0) {
            spec.commandLine().getErr().printf(Locale.ROOT, "remask: %d of %d completions could not be run (outcome"
                    + " ERROR; the reasons are in the report)%n", report.errors(), report.results().size());
            return ErrorHandler.RUNTIME_ERROR;
        }
        return 0;
    }

    /** --samples-out: a JSON line per result, flushed as it comes, so an interrupted run keeps what it scored. */
    private static final class SamplesWriter implements AutoCloseable {
        private final BufferedWriter writer;

        SamplesWriter(Path file) throws IOException {
            writer = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        }

        void write(Evaluator.TaskResult result) {
            if (writer == null) {
                return;
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("task_id", result.taskId());
            line.put("sample", result.sample());
            line.put("completion", result.completion());
            line.put("result", result.outcome().name().toLowerCase(Locale.ROOT));
            line.put("passed", result.outcome() == Outcome.PASSED);
            line.put("reason", result.reason());
            try {
                writer.write(JSON.std.asString(line));
                writer.newLine();
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the samples file: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() throws IOException {
            if (writer != null) {
                writer.close();
            }
        }
    }

    private int sweep(List<Task> tasks) throws IOException {
        Sweep.headless(); // before any AWT class loads
        int genLength = sampling.genLength;
        int blockLength = sampling.resolvedBlockLength();
        List<String> revisions = sweepRevisions != null ? sweepRevisions : List.of("none");
        for (String rule : revisions) {
            Revision.parse(rule); // an unknown name fails in one line
        }
        sampling.checkRuleParameters(revisions);
        if (sampling.winoWide != null) {
            throw new IllegalArgumentException("--sweep runs wino at each of --thresholds: --wino-wide goes without it");
        }
        List<Sweep.Point> grid = Sweep.grid(sweepSchedules != null ? sweepSchedules : Sweep.DEFAULT_SCHEDULES,
                lladaSteps != null ? lladaSteps : Sweep.defaultLladaSteps(genLength, blockLength),
                pyramidFactors != null ? pyramidFactors : Sweep.DEFAULT_PYRAMID_FACTORS,
                thresholds != null ? thresholds : Sweep.DEFAULT_THRESHOLDS, revisions);
        for (Sweep.Point point : grid) { // a bad grid point fails before the model loads
            try {
                new GenerationRequest(new long[] {0}, genLength, blockLength, point.toSchedule(), sampling.settings(-1),
                        sampling.cacheMode(), revision(point));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("sweep point " + point + ": " + e.getMessage(), e);
            }
        }
        sampling.cancellation(); // a bad --max-time too
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("model", ModelOptions.inProject(options.model()));
        settings.put("dataset", ModelOptions.inProject(dataset));
        settings.put("dataset_sha256", sha256(dataset));
        settings.put("limit", limit);
        settings.put("gen_length", genLength);
        settings.put("block_length", blockLength);
        settings.put("temperature", sampling.temperature);
        settings.put("remasking", sampling.remasking);
        settings.put("cache", sampling.cacheMode().cliName());
        // The rules' parameters, where given (the grid's rules are in its points): null is left out.
        settings.put("wino_narrow", sampling.winoNarrow);
        settings.put("remdm_strategy", sampling.remdmStrategy);
        settings.put("remdm_sigma_max", sampling.remdmSigmaMax);
        settings.put("remdm_eta", sampling.remdmEta);
        settings.put("remdm_t_on", sampling.remdmTOn);
        settings.put("remdm_t_off", sampling.remdmTOff);
        settings.put("remdm_alpha_on", sampling.remdmAlphaOn);
        settings.put("edit_threshold", sampling.editThreshold);
        settings.put("edit_steps", sampling.editSteps);
        settings.put("dtype", options.precision().dtype().nativeName());
        settings.put("seed", sampling.seed);
        settings.put("cfg_scale", sampling.cfgScale);
        settings.put("eos_logit_off", sampling.eosLogitOff);
        settings.put("eos_confidence_off", sampling.eosConfidenceOff);
        settings.put("eot_id", sampling.eotId);
        settings.put("max_time", sampling.maxTime);
        settings.put("timeout", timeout);
        settings.put("memory_mib", memory == Sandbox.Limits.DEFAULT_MEMORY_MIB ? null : memory); // null: left out
        settings.put("python", python == null ? null : python.toAbsolutePath().toString()); // null: left out
        settings.put("site_packages", sitePackages ? true : null);
        String title = "pass@1 against NFE: " + options.model().toAbsolutePath().normalize().getFileName() + " on "
                + dataset.getFileName() + " (" + tasks.size() + " tasks, L=" + genLength + ", B=" + blockLength + ")";
        Sweep run = new Sweep(out, settings, title, restart);
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Sandbox sandbox = sandbox(err);
        List<Sweep.Result> results;
        if (grid.stream().allMatch(run::done)) {
            results = run.run(grid, tasks, point -> null, sandbox, null, quiet ? null : err);
        } else {
            try (Session session = new Session(options)) {
                PrintWriter progress = progress(err);
                results = run.run(grid, tasks, point -> (task, sample) -> complete(session, task, point), sandbox,
                        progress, quiet ? null : err);
            }
        }
        if (format == OutputFormat.json) {
            stdout.println(JSON.std.asString(Sweep.json(results)));
        } else {
            Sweep.printTable(results, stdout);
            stdout.println("wrote " + out.resolve(Sweep.CSV) + " and " + out.resolve(Sweep.PNG));
        }
        stdout.flush();
        return 0;
    }

    /** Where the per-task progress line goes: stderr on a terminal, unless --quiet; else nowhere. */
    private PrintWriter progress(PrintWriter err) {
        return !quiet && Terminal.stderrIsTerminal() ? err : null;
    }

    /** The sandbox for --timeout, --memory, --python and --site-packages; one weaker than bubblewrap is said on stderr. */
    private Sandbox sandbox(PrintWriter err) {
        Sandbox.Limits limits = Sandbox.Limits.defaults().withTimeout(Duration.ofNanos((long) (timeout * 1e9)))
                .withMemory(memory << 20);
        Sandbox sandbox = new Sandbox(limits, python != null ? python.toAbsolutePath().toString() : Sandbox.findPython(),
                sitePackages);
        if (sandbox.isolation() != Sandbox.Isolation.BUBBLEWRAP) {
            err.println("remask: warning: bubblewrap (bwrap) is not usable here, so model-written code runs with "
                    + (sandbox.isolation() == Sandbox.Isolation.UNSHARE ? "only its own network and PID namespaces"
                    : "resource limits only") + " and can read this machine's files (scripts/setup installs it)");
        }
        return sandbox;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] chunk = new byte[1 << 16];
            for (int n; (n = in.read(chunk)) > 0; ) {
                digest.update(chunk, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    /** {@link #complete(Session, Task, int)}'s first sample at a sweep point, the other options unchanged. */
    private Completer.Completion complete(Session session, Task task, Sweep.Point point) {
        long[] ids = session.tokenizer().encode(task.prompt());
        // The point's rule from the start: --revise (none beside a sweep) would refuse that rule's parameters.
        return generate(session, session.request(ids, sampling, revision(point)).withSchedule(point.toSchedule()));
    }

    /** The point's revision rule with the parameters given; wino's wide threshold is the point's threshold. */
    private Revision revision(Sweep.Point point) {
        return switch (sampling.revision(point.revise())) {
            case Revision.Wino wino -> new Revision.Wino(Double.parseDouble(point.parameter()), wino.narrow());
            case Revision other -> other;
        };
    }

    /**
     * The prompt encoded raw (no chat template), generated with seed --seed + sample, decoded up to EoT/EOS and cut at
     * the stop sequences.
     */
    private Completer.Completion complete(Session session, Task task, int sample) {
        long[] ids = session.tokenizer().encode(task.prompt());
        return generate(session, session.request(ids, sampling).withSeed(sampling.seed + sample));
    }

    private Completer.Completion generate(Session session, GenerationRequest request) {
        Generation result;
        try {
            result = session.sampler.generate(request, null, sampling.cancellation());
        } catch (GenerationCancelledException e) {
            result = e.partial();
        }
        return new Completer.Completion(Stops.truncate(session.tokenizer().decode(result.ids())), result.nfe());
    }
}
