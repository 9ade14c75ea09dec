package org.remask.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.remask.engine.Model;
import org.remask.engine.Precision;
import org.remask.engine.Threads;
import org.remask.text.ChatTemplate;
import picocli.CommandLine.Option;

/** Where the model is and how to run it; shared by every command that loads one. */
final class ModelOptions {
    /** The shipped model whose pass@1 falls with NFE, in the checkout's models/ folder. */
    static final String DEFAULT_MODEL = "models/remask-mini-variants";

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face checkpoint directory: config.json, safetensors, tokenizer (default: the shipped "
                    + DEFAULT_MODEL + ").")
    Path given;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "D",
            description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "auto", paramLabel = "T",
            description = "float32, bfloat16, float16 (cuda), int8 (cpu: int8 linear weights, float32 activations) or"
                    + " auto: bfloat16 on cuda, and on a cpu with native bfloat16 for a bfloat16 checkpoint, else"
                    + " float32 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads for libtorch (default: every available processor; 1 for a model with d_model"
                    + " under 512).")
    Integer threads;

    /** The thread count load() set, and why. */
    private Threads.Choice threadChoice;

    /** --model, else the shipped model: -Dremask.default.model if set, else models/ beside target/. */
    Path model() {
        if (given != null) {
            return given;
        }
        String property = System.getProperty("remask.default.model");
        Path shipped = property != null ? Path.of(property) : projectRoot().resolve(DEFAULT_MODEL);
        if (!Files.isDirectory(shipped)) {
            throw new IllegalArgumentException("no --model given, and the default model is not at " + shipped);
        }
        return shipped;
    }

    /** How to name the model in a message: --model as given, else the shipped model's folder. */
    String name() {
        return given != null ? given.toString() : DEFAULT_MODEL;
    }

    /** The model's chat template; a Base model, which has none, is bad input here: {@code instead} says why. */
    ChatTemplate chatTemplate(String instead) {
        return ChatTemplate.find(model()).orElseThrow(() -> new IllegalArgumentException(
                name() + " has no chat template (a Base model): " + instead));
    }

    /** The checkout that holds this build: target/remask.jar (or target/classes) -> its root. */
    static Path projectRoot() {
        try {
            Path jar = Path.of(ModelOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.toAbsolutePath().getParent().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("").toAbsolutePath();
        }
    }

    /** A path as results files record it: relative to the checkout when inside it (so a clone reads them), else absolute. */
    static String inProject(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path root = projectRoot().normalize();
        return absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString();
    }

    /** The dtype to compute in, and why (info reports both). */
    Precision precision() {
        return Precision.choose(dtype, device, model());
    }

    Model load() {
        int processors = Runtime.getRuntime().availableProcessors();
        Threads.set(threads != null ? threads : processors);
        Model model = Model.load(model(), device, precision().dtype());
        threadChoice = threads != null ? new Threads.Choice(threads, "as asked")
                : Threads.byDefault(model.info(), processors);
        Threads.set(threadChoice.threads());
        return model;
    }

    /** After load(): the threads it set and why. */
    Threads.Choice threadChoice() {
        return threadChoice;
    }
}
