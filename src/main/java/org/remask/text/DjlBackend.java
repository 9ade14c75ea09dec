package org.remask.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The only class that names DJL. Its static initializer applies {@link DjlRuntime#configure()} before any
 * DJL class is initialized, whoever reaches it first.
 */
final class DjlBackend implements AutoCloseable {
    static {
        DjlRuntime.configure();
    }

    /** Encode exactly the text (no BOS/EOS added), never truncate, never pad. */
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");

    private final HuggingFaceTokenizer tokenizer;

    private DjlBackend(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Builds a tokenizer from tokenizer.json's text; DJL's and the Rust library's failures pass through. */
    static DjlBackend fromJson(String json) {
        DjlRuntime.configure(); // again: in case something cleared the properties since
        DjlRuntime.checkEnvironment();
        try {
            // Never the hub variant newInstance(String): that one downloads.
            return new DjlBackend(HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    long[] encode(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
