package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.remask.engine.Model;
import org.remask.engine.ModelInfo;
import org.remask.engine.Threads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Load a model and describe it.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Option(names = "--format", defaultValue = "text", paramLabel = "F", description = "text or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long started = System.nanoTime();
        Map<String, Object> facts = new LinkedHashMap<>();
        try (Model model = options.load()) {
            double loadSeconds = (System.nanoTime() - started) / 1e9;
            ModelInfo info = model.info();
            facts.put("model", options.model().toAbsolutePath().toString());
            facts.put("architecture", info.family().architecture());
            facts.put("vocab_size", info.vocabSize());
            facts.put("mask_token_id", info.maskTokenId());
            facts.put("eos_token_id", info.eosTokenId());
            facts.put("d_model", info.dModel());
            facts.put("n_layers", info.nLayers());
            facts.put("n_heads", info.nHeads());
            facts.put("n_kv_heads", info.nKvHeads());
            facts.put("head_dim", info.headDim());
            facts.put("mlp_hidden_size", info.mlpHiddenSize());
            facts.put("experts", info.experts());
            facts.put("experts_per_token", info.expertsPerToken());
            facts.put("max_sequence_length", info.maxSequenceLength());
            facts.put("parameters", info.parameterCount());
            facts.put("dtype", info.dtype().nativeName());
            facts.put("dtype_reason", options.precision().reason());
            facts.put("device", info.device());
            facts.put("weight_bytes", info.weightBytes());
            if (info.int8ActivationBits() > 0) {
                facts.put("int8_activation_bits", info.int8ActivationBits());
            }
            facts.put("threads", Threads.get());
            facts.put("threads_reason", options.threadChoice().reason());
            facts.put("load_seconds", loadSeconds);
            facts.put("native", Model.nativeVersion());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.println(JSON.std.asString(facts));
        } else {
            printText(out, facts);
        }
        out.flush();
        return 0;
    }

    private static void printText(PrintWriter out, Map<String, Object> f) {
        out.printf(Locale.ROOT, "model          %s%n", f.get("model"));
        out.printf(Locale.ROOT, "architecture   %s: %d layers, d_model %d, %d heads (%d kv, head_dim %d), %s%n",
                f.get("architecture"), f.get("n_layers"), f.get("d_model"), f.get("n_heads"), f.get("n_kv_heads"),
                f.get("head_dim"), (Long) f.get("experts") > 0 ? String.format(Locale.ROOT, "%d experts (%d per token)",
                        f.get("experts"), f.get("experts_per_token")) : "SwiGLU " + f.get("mlp_hidden_size"));
        out.printf(Locale.ROOT, "vocabulary     %d (mask %d, eos %d)%n", f.get("vocab_size"), f.get("mask_token_id"),
                f.get("eos_token_id"));
        out.printf(Locale.ROOT, "max sequence   %d%n", f.get("max_sequence_length"));
        out.printf(Locale.ROOT, "parameters     %,d%n", f.get("parameters"));
        out.printf(Locale.ROOT, "weights        %s in %s on %s (%s)%n", bytes((Long) f.get("weight_bytes")),
                f.get("dtype"), f.get("device"), f.get("dtype_reason"));
        if (f.containsKey("int8_activation_bits")) {
            out.printf(Locale.ROOT, "int8 inputs    %d bits a value, quantized per product (%s)%n",
                    f.get("int8_activation_bits"), (Long) f.get("int8_activation_bits") == 8 ? "this cpu has VNNI"
                            : "this cpu has no VNNI, without which 8 bits would overflow oneDNN's int16 sums");
        }
        out.printf(Locale.ROOT, "cpu threads    %d (%s)%n", f.get("threads"), f.get("threads_reason"));
        out.printf(Locale.ROOT, "load time      %.3f s%n", f.get("load_seconds"));
        out.printf(Locale.ROOT, "native         %s%n", f.get("native"));
    }

    private static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
        }
        if (n >= 1L << 20) {
            return String.format(Locale.ROOT, "%.2f MiB", n / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
}
