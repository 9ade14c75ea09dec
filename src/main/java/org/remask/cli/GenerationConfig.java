package org.remask.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a model directory's generation_config.json says about generating with it: the answer length
 * ({@code max_new_tokens}, Hugging Face's field) and whether the model's raw prompts end with a newline
 * ({@code prompt_ends_with_newline}, remask's: the shipped code models read HumanEval prompts, which do,
 * and answer badly without it). A missing file or field means neither.
 */
record GenerationConfig(Integer maxNewTokens, boolean promptEndsWithNewline) {
    static final String FILE = "generation_config.json";

    static GenerationConfig read(Path modelDir) {
        Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return new GenerationConfig(null, false);
        }
        Map<String, Object> config;
        try {
            config = JSON.std.mapFrom(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage().lines().findFirst()
                    .orElse(""), e);
        }
        Object length = config.get("max_new_tokens");
        if (length != null && !(length instanceof Integer n && n >= 1)) {
            throw new IllegalArgumentException(file + ": max_new_tokens must be a positive integer, not " + length);
        }
        Object newline = config.getOrDefault("prompt_ends_with_newline", false);
        if (!(newline instanceof Boolean)) {
            throw new IllegalArgumentException(file + ": prompt_ends_with_newline must be true or false, not " + newline);
        }
        return new GenerationConfig((Integer) length, (Boolean) newline);
    }
}
