package org.remask.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.remask.engine.LogitsBuffer;
import org.remask.engine.Model;
import org.remask.engine.TokenBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Run one forward pass over token ids and print the fp32 logits of every position.")
final class LogitsCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Option(names = "--ids", required = true, paramLabel = "1,2,3", description = "Comma-separated token ids.")
    String ids;

    @Option(names = "--format", defaultValue = "json", paramLabel = "F",
            description = "json ({\"logits\": [[...] per position]}) or text (argmax per position) (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        long[] tokens = TokenIds.parse(ids, "--ids");
        float[][] logits;
        try (Model model = options.load();
                TokenBuffer buffer = model.newTokens(1, tokens.length);
                LogitsBuffer out = model.newLogits(tokens.length)) {
            buffer.write(0, tokens);
            model.forward(buffer, 0, tokens.length, out);
            logits = out.readRows(tokens.length);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            printJson(out, logits);
        } else {
            printText(out, tokens, logits);
        }
        out.flush();
        return 0;
    }

    private static void printJson(PrintWriter out, float[][] logits) {
        StringBuilder json = new StringBuilder(logits.length * logits[0].length * 12).append("{\"logits\": [");
        for (int r = 0; r < logits.length; r++) {
            json.append(r == 0 ? "[" : ", [");
            for (int v = 0; v < logits[r].length; v++) {
                if (v > 0) {
                    json.append(", ");
                }
                json.append(logits[r][v]);
            }
            json.append(']');
        }
        out.println(json.append("]}"));
    }

    private static void printText(PrintWriter out, long[] tokens, float[][] logits) {
        out.println("position  id        argmax    logit");
        for (int r = 0; r < logits.length; r++) {
            int best = 0;
            for (int v = 1; v < logits[r].length; v++) {
                if (logits[r][v] > logits[r][best]) {
                    best = v;
                }
            }
            out.printf(Locale.ROOT, "%-9d %-9d %-9d %.6f%n", r, tokens[r], best, logits[r][best]);
        }
    }
}
