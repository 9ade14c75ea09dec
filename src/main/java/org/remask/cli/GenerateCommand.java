package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.remask.sampling.CacheMode;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationCancelledException;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.StepEvent;
import org.remask.sampling.StepListener;
import org.remask.text.ChatMessage;
import org.remask.text.ChatTemplate;
import org.remask.text.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text (or token ids) after a prompt by iterative unmasking.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Mixin
    SamplingOptions sampling;

    @Parameters(arity = "0..1", paramLabel = "PROMPT", description = "The prompt text (the same as --prompt).")
    String positionalPrompt;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt text; - reads it from stdin.")
    String prompt;

    @Option(names = "--prompt-ids", paramLabel = "5,17,42", description = "The prompt as token ids (no tokenizer).")
    String promptIds;

    @Option(names = "--chat", description = "Wrap the prompt in the model's chat template (Instruct models).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message for --chat.")
    String system;

    @Option(names = "--trace", description = "Also report what every model call committed.")
    boolean trace;

    @Option(names = "--visual", description = "On a terminal, draw the answer in place as it unmasks.")
    boolean visual;

    @Option(names = "--quiet", description = "No progress line on stderr.")
    boolean quiet;

    @Option(names = "--format", defaultValue = "text", paramLabel = "F", description = "text or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        GenerationConfig generation = GenerationConfig.read(options.model());
        sampling.settle(generation);
        sampling.resolvedSchedule(); // bad sampling options fail before the model loads
        String text = promptText();
        if (text == null && promptIds == null) {
            throw new IllegalArgumentException("a prompt is required: PROMPT, --prompt TEXT or --prompt-ids");
        }
        if (text != null && promptIds != null) {
            throw new IllegalArgumentException("give the prompt as text or as --prompt-ids, not both");
        }
        if (promptIds != null && (chat || system != null)) {
            throw new IllegalArgumentException("--chat and --system need a text prompt");
        }
        if (system != null && !chat) {
            throw new IllegalArgumentException("--system needs --chat");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ChatTemplate template = chat ? options.chatTemplate("give the prompt without --chat") : null;
        if (generation.promptEndsWithNewline() && text != null && !chat && !text.endsWith("\n")) {
            // A shell's "$(cat file)" drops the newline; without it these models write nonsense.
            text += "\n";
            err.println("remask: added the final newline that " + options.name() + "'s prompts end with"
                    + " (prompt_ends_with_newline in its " + GenerationConfig.FILE + ")");
        }
        try (Session session = new Session(options)) {
            Tokenizer tokenizer = text == null ? null : session.tokenizer();
            long[] ids = text == null ? TokenIds.parse(promptIds, "--prompt-ids") : encode(session, template, text);
            GenerationRequest request = session.request(ids, sampling);

            List<StepEvent> steps = new ArrayList<>();
            List<StepListener> listeners = new ArrayList<>();
            if (trace) {
                listeners.add(steps::add);
            }
            VisualListener drawing = visual && tokenizer != null && format == OutputFormat.text
                    && Terminal.stdoutIsTerminal()
                    ? new VisualListener(tokenizer, out, request.genLength(), session.model.info().maskTokenId())
                    : null;
            if (drawing != null) {
                listeners.add(drawing);
            }
            ProgressListener progress = !quiet && drawing == null && Terminal.stderrIsTerminal()
                    ? new ProgressListener(err, request.genLength()) : null;
            if (progress != null) {
                listeners.add(progress);
            }

            Generation result;
            boolean stopped = false;
            try {
                StepListener all = listeners.isEmpty() ? null : e -> listeners.forEach(l -> l.onStep(e));
                result = session.sampler.generate(request, all, sampling.cancellation());
            } catch (GenerationCancelledException e) {
                result = e.partial();
                stopped = true;
            } finally {
                if (progress != null) {
                    progress.clear();
                }
            }
            String answer = tokenizer == null ? null : tokenizer.decode(result.ids());
            if (stopped) {
                long masked = Arrays.stream(result.ids()).filter(id -> id == session.model.info().maskTokenId()).count();
                err.printf(Locale.ROOT, "remask: stopped at --max-time after %d model calls; %d of %d positions still masked%n",
                        result.nfe(), masked, request.genLength());
            }
            if (format == OutputFormat.json) {
                out.println(JSON.std.asString(json(request, result, answer, steps, tokenizer)));
            } else if (drawing != null) {
                drawing.finish(answer);
            } else {
                printText(out, request, result, answer, steps, tokenizer);
            }
            out.flush();
        }
        return 0;
    }

    private String promptText() throws IOException {
        if (prompt != null && positionalPrompt != null) {
            throw new IllegalArgumentException("give the prompt once: PROMPT or --prompt, not both");
        }
        String text = prompt != null ? prompt : positionalPrompt;
        if ("-".equals(text)) {
            text = readStdin(System.in);
        }
        if (text != null && text.isBlank()) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        return text;
    }

    static String readStdin(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    private long[] encode(Session session, ChatTemplate template, String text) {
        String rendered = text;
        if (template != null) {
            List<ChatMessage> messages = new ArrayList<>();
            if (system != null) {
                messages.add(ChatMessage.system(system));
            }
            messages.add(ChatMessage.user(text));
            rendered = template.render(messages, true);
        }
        return session.tokenizer().encode(rendered);
    }

    private void printText(PrintWriter out, GenerationRequest request, Generation result, String answer,
            List<StepEvent> steps, Tokenizer tokenizer) {
        for (StepEvent step : steps) {
            out.printf(Locale.ROOT, "step %d  block %d  keeping: %s%s%n", step.nfe(), step.block(), keeping(step, tokenizer),
                    (step.remasked().length == 0 ? "" : "  remasking: " + Arrays.toString(step.remasked()))
                    + (step.edited().length == 0 ? "" : "  editing: " + Arrays.toString(step.edited())));
        }
        if (answer != null) {
            out.println(answer);
        } else {
            out.println(Arrays.toString(result.ids()));
            out.printf(Locale.ROOT, "%d tokens, %d NFE (%s), %.3f s%n", result.ids().length, result.nfe(),
                    request.schedule().describe(), result.seconds());
            if (request.cache() != CacheMode.NONE) {
                out.printf(Locale.ROOT, "%s cache: %.2f full-sequence forwards' worth of positions computed%n",
                        request.cache().cliName(), result.fullEquivalentNfe());
            }
        }
    }

    /** The step's tokens as text (' and') with a tokenizer, else as ids with their positions. */
    private static String keeping(StepEvent step, Tokenizer tokenizer) {
        if (tokenizer == null) {
            return Arrays.toString(step.tokens()) + " at " + Arrays.toString(step.positions());
        }
        List<String> tokens = new ArrayList<>();
        for (long id : step.tokens()) {
            tokens.add(TokenText.quote(tokenizer.token(id)));
        }
        return "[" + String.join(", ", tokens) + "]";
    }

    private Map<String, Object> json(GenerationRequest request, Generation result, String answer, List<StepEvent> steps,
            Tokenizer tokenizer) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (answer != null) {
            json.put("text", answer);
        }
        json.put("prompt_ids", result.promptIds());
        json.put("ids", result.ids());
        json.put("nfe", result.nfe());
        json.put("cache", request.cache().cliName());
        json.put("forward_positions", result.forwardPositions());
        json.put("nfe_full_equivalent", result.fullEquivalentNfe());
        json.put("seconds", result.seconds());
        json.put("tokens_per_second", request.genLength() / Math.max(result.seconds(), 1e-9));
        json.put("schedule", request.schedule().describe());
        json.put("revise", request.revision().describe());
        json.put("gen_length", request.genLength());
        json.put("block_length", request.blockLength());
        if (trace) {
            List<Map<String, Object>> trace = new ArrayList<>();
            for (StepEvent step : steps) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("block", step.block());
                s.put("positions", step.positions());
                s.put("tokens", step.tokens());
                s.put("remasked", step.remasked());
                s.put("edited", step.edited());
                if (tokenizer != null) {
                    s.put("text", Arrays.stream(step.tokens()).mapToObj(tokenizer::token).toList());
                }
                trace.add(s);
            }
            json.put("steps", trace);
        }
        return json;
    }
}
