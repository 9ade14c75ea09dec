package org.remask.text;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** The files of a Hugging Face model directory the text layer reads, with one-line errors. */
final class ModelFiles {
    static final String TOKENIZER = "tokenizer.json";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    private ModelFiles() {}

    /** DIR/NAME's text; a missing file gives "DIR has no NAME". */
    static String read(Path modelDir, String name) {
        Path file = modelDir.resolve(name);
        if (Files.exists(modelDir) && !Files.isDirectory(modelDir)) {
            throw new TextException(modelDir + " is not a directory (give the model's directory)");
        }
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new TextException(modelDir + " has no " + name);
        } catch (IOException e) {
            throw new TextException("cannot load " + file + ": " + oneLine(e));
        }
    }

    /** DIR/tokenizer_config.json as a map, or null when the file is absent and not required. */
    static Map<String, Object> tokenizerConfig(Path modelDir, boolean required) {
        Path file = modelDir.resolve(TOKENIZER_CONFIG);
        if (!required && !Files.exists(file)) {
            return null;
        }
        String text = read(modelDir, TOKENIZER_CONFIG);
        try {
            Object value = JSON.std.anyFrom(text);
            if (!(value instanceof Map<?, ?> map)) {
                throw new TextException("cannot load " + file + ": not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> config = (Map<String, Object>) map;
            return config;
        } catch (IOException e) {
            throw new TextException("cannot load " + file + ": " + oneLine(e));
        }
    }

    /** A special token as tokenizer_config.json gives it: "text", {"content": "text", ...} or absent. */
    static String specialToken(Map<String, Object> config, String key) {
        Object value = config == null ? null : config.get(key);
        if (value instanceof Map<?, ?> map) {
            value = map.get("content");
        }
        return value instanceof String s ? s : null;
    }

    /** The first line of an exception's message (parsers add source excerpts on further lines). */
    static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int nl = message.indexOf('\n');
        return (nl < 0 ? message : message.substring(0, nl)).strip();
    }
}
