package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a model directory's generation_config.json says about generating with it: the answer length
 * ({@code max_new_tokens}, Hugging Face's field) and whether the model's raw prompts end with a newline
 * ({@code prompt_ends_with_newline}, remask's: the shipped code models read HumanEval prompts, which do,
 * and answer badly without it); Dream's sampler defaults ({@code alg}, {@code steps}, {@code eps},
 * {@code alg_temp}, {@code top_p}, {@code top_k}); and, from config.json, the architecture, whose family may have a sampler of
 * its own. A missing file or field means none.
 *
 * @param dream Dream's sampler defaults, or null where the file has no {@code alg}
 */
record GenerationConfig(Integer maxNewTokens, boolean promptEndsWithNewline, String architecture, DreamDefaults dream) {
    static final String FILE = "generation_config.json";

    /** Dream's generation_config.json fields; null where absent. */
    record DreamDefaults(String alg, Integer steps, Double eps, Double algTemp, Double topP, Integer topK) {}

    static GenerationConfig read(Path modelDir) {
        String architecture = architecture(modelDir);
        Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return new GenerationConfig(null, false, architecture, null);
        }
        Map<String, Object> config = json(file);
        Object length = config.get("max_new_tokens");
        if (length != null && !(length instanceof Integer n && n >= 1)) {
            throw new IllegalArgumentException(file + ": max_new_tokens must be a positive integer, not " + length);
        }
        Object newline = config.getOrDefault("prompt_ends_with_newline", false);
        if (!(newline instanceof Boolean)) {
            throw new IllegalArgumentException(file + ": prompt_ends_with_newline must be true or false, not " + newline);
        }
        DreamDefaults dream = null;
        if (config.get("alg") instanceof String alg) {
            dream = new DreamDefaults(alg, integer(config, "steps", file), number(config, "eps", file),
                    number(config, "alg_temp", file), number(config, "top_p", file), integer(config, "top_k", file));
        }
        return new GenerationConfig((Integer) length, (Boolean) newline, architecture, dream);
    }

    /** config.json's architectures[0], or null. */
    private static String architecture(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            return null;
        }
        return json(file).get("architectures") instanceof List<?> list && !list.isEmpty()
                && list.getFirst() instanceof String name ? name : null;
    }

    private static Map<String, Object> json(Path file) {
        try {
            return JSON.std.mapFrom(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage().lines().findFirst()
                    .orElse(""), e);
        }
    }

    private static Integer integer(Map<String, Object> config, String key, Path file) {
        Object value = config.get(key);
        if (value != null && !(value instanceof Integer)) {
            throw new IllegalArgumentException(file + ": " + key + " must be an integer, not " + value);
        }
        return (Integer) value;
    }

    private static Double number(Map<String, Object> config, String key, Path file) {
        Object value = config.get(key);
        if (value != null && !(value instanceof Number)) {
            throw new IllegalArgumentException(file + ": " + key + " must be a number, not " + value);
        }
        return value == null ? null : ((Number) value).doubleValue();
    }
}
