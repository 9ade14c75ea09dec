package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.remask.eval.Completer;
import org.remask.eval.Dataset;
import org.remask.eval.Evaluator;
import org.remask.eval.Sandbox;
import org.remask.eval.Stops;
import org.remask.eval.Task;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationCancelledException;
import org.remask.sampling.GenerationRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "HumanEval-style pass@1: complete each task, run its tests in a sandboxed python3.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--dataset", required = true, paramLabel = "FILE",
            description = "HumanEval-format JSON Lines (.jsonl or .jsonl.gz).")
    Path dataset;

    @Option(names = "--timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "Wall-clock limit of each task's test run (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N tasks.")
    Integer limit;

    @Option(names = "--quiet", description = "No progress line on stderr.")
    boolean quiet;

    @Option(names = "--format", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!(timeout > 0) || Double.isInfinite(timeout)) {
            throw new IllegalArgumentException("--timeout must be a positive number of seconds, not " + timeout);
        }
        if (limit != null && limit < 1) {
            throw new IllegalArgumentException("--limit must be at least 1, not " + limit);
        }
        List<Task> tasks = Dataset.read(dataset);
        if (limit != null && limit < tasks.size()) {
            tasks = tasks.subList(0, limit);
        }
        sampling.resolvedSchedule(); // bad sampling options fail before the model loads
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Sandbox sandbox = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofNanos((long) (timeout * 1e9))));
        try (Session session = new Session(options)) {
            Completer completer = task -> complete(session, task);
            PrintWriter progress = !quiet && Terminal.stderrIsTerminal() ? err : null;
            Evaluator.Report report = new Evaluator(completer, sandbox, progress).evaluate(tasks);
            if (format == OutputFormat.json) {
                out.println(JSON.std.asString(report.json()));
            } else {
                report.printTable(out);
            }
            out.flush();
        }
        return 0;
    }

    /** The prompt encoded raw (no chat template), generated, decoded up to EoT/EOS and cut at the stop sequences. */
    private Completer.Completion complete(Session session, Task task) {
        long[] ids = session.tokenizer().encode(task.prompt());
        GenerationRequest request = session.request(ids, sampling);
        Generation result;
        try {
            result = session.sampler.generate(request, null, sampling.cancellation());
        } catch (GenerationCancelledException e) {
            result = e.partial();
        }
        return new Completer.Completion(Stops.truncate(session.tokenizer().decode(result.ids())), result.nfe());
    }
}
