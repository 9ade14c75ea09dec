package org.remask.text;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A model's Hugging Face fast tokenizer (DIR/tokenizer.json), run offline by DJL's bundled native library.
 * Encoding adds no special tokens, but special token strings in the text are recognised as their ids (that
 * is how a rendered chat template becomes ids); nothing is truncated or padded.
 *
 * <p>{@link #decode(long[])} is for generated ids: it cuts at the first stop id (EOS and EoT, looked up by
 * token string in the model's files, see {@link #stopIds()}) and skips special tokens, the mask included.
 *
 * <p>Thread-safe; {@link #close()} frees the native tokenizer.
 */
public final class Tokenizer implements AutoCloseable {
    static {
        // Before any DJL class is touched: DjlBackend, the only class naming DJL, loads after this.
        DjlRuntime.configure();
    }

    /** End of text: Instruct answers are padded with it. */
    public static final String EOS_TOKEN = "<|endoftext|>";
    /** End of turn, in Llama-3 style chat formats. */
    public static final String EOT_TOKEN = "<|eot_id|>";

    private static final long MAX_ID = 0xFFFF_FFFFL; // the native library's ids are u32

    private final DjlBackend backend;
    private final Vocabulary vocabulary;
    private final long[] stopIds;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Tokenizer(DjlBackend backend, Vocabulary vocabulary, long[] stopIds) {
        this.backend = backend;
        this.vocabulary = vocabulary;
        this.stopIds = stopIds;
    }

    /**
     * Loads DIR/tokenizer.json. The stop ids are those of {@value #EOS_TOKEN}, {@value #EOT_TOKEN} and
     * DIR/tokenizer_config.json's eos_token (read when the file exists), each where the vocabulary has it.
     *
     * @throws TextException "DIR has no tokenizer.json", or "cannot load DIR/tokenizer.json: reason"
     */
    public static Tokenizer load(Path modelDir) {
        Objects.requireNonNull(modelDir, "modelDir");
        Path file = modelDir.resolve(ModelFiles.TOKENIZER);
        String json = ModelFiles.read(modelDir, ModelFiles.TOKENIZER);
        Map<String, Object> config = ModelFiles.tokenizerConfig(modelDir, false);
        Vocabulary vocabulary;
        DjlBackend backend;
        try {
            backend = DjlBackend.fromJson(json);
        } catch (TextException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TextException("cannot load " + file + ": " + reason(e), e);
        }
        try {
            vocabulary = Vocabulary.parse(json);
            checkAddedTokens(backend, vocabulary);
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw new TextException("cannot load " + file + ": " + reason(e), e);
        }
        TreeSet<Long> stops = new TreeSet<>();
        for (String token : new String[] {EOS_TOKEN, EOT_TOKEN, ModelFiles.specialToken(config, "eos_token")}) {
            if (token != null) {
                vocabulary.idOf(token).ifPresent(stops::add);
            }
        }
        return new Tokenizer(backend, vocabulary, stops.stream().mapToLong(Long::longValue).toArray());
    }

    /**
     * The tokenizers library gives an added token the id the file names only when the model's vocabulary
     * holds the token too or the id follows the vocabulary; otherwise it silently renumbers it. Catch
     * that here for the special tokens (stop ids, mask, chat markers), or idOf and the stop ids would
     * disagree with what encode produces.
     */
    private static void checkAddedTokens(DjlBackend backend, Vocabulary vocabulary) throws IOException {
        for (Map.Entry<Long, String> e : vocabulary.addedTokens().entrySet()) {
            if (!vocabulary.isSpecial(e.getKey())) {
                continue; // a normalizer may legitimately change a non-special added token
            }
            long[] ids = backend.encode(e.getValue());
            if (ids.length != 1 || ids[0] != e.getKey()) {
                throw new IOException("added token '" + e.getValue() + "' has id " + e.getKey()
                        + " in the file, but the tokenizer encodes it as " + Arrays.toString(ids)
                        + " (an added token's id must be in the model's vocabulary or follow it)");
            }
        }
    }

    /** The ids of the text, with no special tokens added; special token strings in it become their ids. */
    public long[] encode(String text) {
        Objects.requireNonNull(text, "text");
        ensureOpen();
        return backend.encode(text);
    }

    /**
     * The text of generated ids: everything from the first stop id on is dropped (even ids that are not
     * special), then special tokens (mask, BOS, ...) are skipped.
     */
    public String decode(long[] ids) {
        return decode(ids, stopIds);
    }

    /** As {@link #decode(long[])}, cutting at the first of the given stop ids instead of the model's. */
    public String decode(long[] ids, long[] stopIds) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(stopIds, "stopIds");
        int end = ids.length;
        for (int i = 0; i < ids.length && end == ids.length; i++) {
            for (long stop : stopIds) {
                if (ids[i] == stop) {
                    end = i;
                    break;
                }
            }
        }
        long[] kept = end == ids.length ? ids : Arrays.copyOf(ids, end);
        checkIds(kept);
        ensureOpen();
        return backend.decode(kept, true);
    }

    /** All ids as text, special tokens written out and nothing cut: for traces of whole sequences. */
    public String decodeRaw(long[] ids) {
        Objects.requireNonNull(ids, "ids");
        checkIds(ids);
        ensureOpen();
        return backend.decode(ids, false);
    }

    /** One token's text for traces, e.g. " and" or "<|mdm_mask|>" (a lone byte of a longer character gives U+FFFD). */
    public String token(long id) {
        checkIds(new long[] {id});
        String added = vocabulary.addedToken(id);
        if (added != null) {
            return added;
        }
        ensureOpen();
        return backend.decode(new long[] {id}, false);
    }

    /** The id of a token string as the vocabulary writes it (added tokens first, then the model's vocabulary). */
    public OptionalLong idOf(String token) {
        return vocabulary.idOf(Objects.requireNonNull(token, "token"));
    }

    /** Whether the id is a special added token (skipped by {@link #decode(long[])}). */
    public boolean isSpecial(long id) {
        return vocabulary.isSpecial(id);
    }

    /** The ids {@link #decode(long[])} cuts at, ascending. */
    public long[] stopIds() {
        return stopIds.clone();
    }

    /** The highest token id plus one (the model's embedding may have more rows). */
    public int vocabSize() {
        return vocabulary.size();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            backend.close();
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the tokenizer is closed");
        }
    }

    private static void checkIds(long[] ids) {
        for (long id : ids) {
            if (id < 0 || id > MAX_ID) {
                throw new IllegalArgumentException("token id " + id + " is not a valid id");
            }
        }
    }

    private static String reason(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return ModelFiles.oneLine(t.getMessage() != null ? t : e);
    }
}
