package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.remask.engine.Model;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.Sampler;
import org.remask.sampling.StepEvent;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate tokens after a prompt by iterative unmasking.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--prompt-ids", required = true, paramLabel = "5,17,42", description = "The prompt's token ids.")
    String promptIds;

    @Option(names = "--trace", description = "Also report what every model call committed.")
    boolean trace;

    @Option(names = "--format", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        GenerationRequest request = new GenerationRequest(TokenIds.parse(promptIds, "--prompt-ids"),
                sampling.genLength, sampling.resolvedBlockLength(), sampling.resolvedSchedule(), sampling.settings());
        List<StepEvent> steps = new ArrayList<>();
        Generation result;
        try (Model model = options.load(); Sampler sampler = new Sampler(model)) {
            result = sampler.generate(request, trace ? steps::add : null, null);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.println(JSON.std.asString(json(request, result, steps)));
        } else {
            for (StepEvent step : steps) {
                out.printf(Locale.ROOT, "step %d  block %d  keeping: %s at %s%n", step.nfe(), step.block(),
                        Arrays.toString(step.tokens()), Arrays.toString(step.positions()));
            }
            out.println(Arrays.toString(result.ids()));
            out.printf(Locale.ROOT, "%d tokens, %d NFE (%s), %.3f s%n", result.ids().length, result.nfe(),
                    request.schedule().describe(), result.seconds());
        }
        out.flush();
        return 0;
    }

    private Map<String, Object> json(GenerationRequest request, Generation result, List<StepEvent> steps) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("prompt_ids", result.promptIds());
        json.put("ids", result.ids());
        json.put("nfe", result.nfe());
        json.put("seconds", result.seconds());
        json.put("schedule", request.schedule().describe());
        json.put("gen_length", request.genLength());
        json.put("block_length", request.blockLength());
        if (trace) {
            List<Map<String, Object>> trace = new ArrayList<>();
            for (StepEvent step : steps) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("block", step.block());
                s.put("positions", step.positions());
                s.put("tokens", step.tokens());
                trace.add(s);
            }
            json.put("steps", trace);
        }
        return json;
    }
}
