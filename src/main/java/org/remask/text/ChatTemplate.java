package org.remask.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's chat template (tokenizer_config.json's {@code chat_template}), rendered by a real Jinja engine
 * (HubSpot's Jinjava) the way Hugging Face's apply_chat_template does: variables {@code messages},
 * {@code bos_token}, {@code eos_token} and {@code add_generation_prompt}, the function
 * {@code raise_exception(message)}, and blocks trimmed ({@code trim_blocks}, {@code lstrip_blocks}).
 *
 * <p>Stricter than Jinja's default on one point: an expression that is undefined (or none) where a value is
 * needed fails the render instead of printing nothing; tests such as {@code x is defined} still work, but
 * an inline if without else ({@code {{ x if c }}} with c false) fails too: write {@code else ''}.
 * Thread-safe.
 */
public final class ChatTemplate {
    private final String source;
    private final Map<String, Object> specialTokens;

    private ChatTemplate(String source, Map<String, Object> specialTokens) {
        this.source = source;
        this.specialTokens = specialTokens;
    }

    /**
     * Loads DIR/tokenizer_config.json's chat_template (a string, or the entry named "default" of a list of
     * named templates) and its bos_token, eos_token (a string or an object with "content").
     *
     * @throws TextException when the file is missing or broken, or has no chat_template
     */
    public static ChatTemplate load(Path modelDir) {
        return find(modelDir).orElseThrow(() -> new TextException(modelDir.resolve(ModelFiles.TOKENIZER_CONFIG)
                + " has no chat_template: a Base model, whose prompts are plain text"));
    }

    /**
     * {@link #load}, or empty when the model has no chat_template (a Base model).
     *
     * @throws TextException when the file is missing or broken
     */
    public static Optional<ChatTemplate> find(Path modelDir) {
        Objects.requireNonNull(modelDir, "modelDir");
        Map<String, Object> config = ModelFiles.tokenizerConfig(modelDir, true);
        String template = templateOf(config.get("chat_template"));
        if (template == null || template.isBlank()) {
            return Optional.empty();
        }
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            String token = ModelFiles.specialToken(config, key);
            if (token != null) {
                tokens.put(key, token);
            }
        }
        return Optional.of(new ChatTemplate(template, Map.copyOf(tokens)));
    }

    /** A template from its source, with the given bos_token and eos_token (either may be null: unset). */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        Objects.requireNonNull(source, "source");
        Map<String, Object> tokens = new HashMap<>();
        if (bosToken != null) {
            tokens.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            tokens.put("eos_token", eosToken);
        }
        return new ChatTemplate(source, Map.copyOf(tokens));
    }

    /** The template's Jinja source. */
    public String source() {
        return source;
    }

    /**
     * The prompt text for these messages; with addGenerationPrompt it ends with the template's opening of
     * an assistant turn.
     *
     * @throws IllegalArgumentException "chat template failed to render: reason", the template's own
     *     message where it called raise_exception
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Objects.requireNonNull(m, "message");
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        Map<String, Object> bindings = new HashMap<>(specialTokens);
        bindings.put("messages", list);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result;
        try {
            result = Engine.JINJAVA.renderForResult(source, bindings);
        } catch (RuntimeException e) {
            String raised = raised(e);
            throw failure(raised != null ? raised : ModelFiles.oneLine(e), e);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL
                    || error.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR) {
                throw failure(describe(error), error.getException());
            }
        }
        return result.getOutput();
    }

    private static IllegalArgumentException failure(String reason, Throwable cause) {
        return new IllegalArgumentException("chat template failed to render: " + reason, cause);
    }

    private static String describe(TemplateError error) {
        String raised = raised(error.getException());
        if (raised != null) {
            return raised;
        }
        String message = error.getMessage() == null ? error.getReason().name() : error.getMessage();
        String prefix = "UnknownTokenException: Unknown token found: ";
        if (message.startsWith(prefix)) {
            message = "undefined value '" + message.substring(prefix.length()).strip() + "'";
        }
        if (error.getLineno() > 0) {
            message += " (line " + error.getLineno() + ")";
        }
        return ModelFiles.oneLine(new RuntimeException(message));
    }

    /** The message given to raise_exception, when it is in the chain of causes. */
    private static String raised(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TemplateRaised r) {
                return r.getMessage();
            }
        }
        return null;
    }

    private static String templateOf(Object value) {
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof List<?> named) { // [{"name": "default", "template": "..."}, ...]
            for (Object entry : named) {
                if (entry instanceof Map<?, ?> m && "default".equals(m.get("name"))
                        && m.get("template") instanceof String s) {
                    return s;
                }
            }
        }
        return null;
    }

    /** What raise_exception throws. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message, null, false, false);
        }
    }

    /** Jinja's raise_exception(message), as Hugging Face templates call it. */
    static String raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** One Jinjava for all templates, built on first use (it takes a few hundred ms). */
    private static final class Engine {
        static final Jinjava JINJAVA = create();

        private static Jinjava create() {
            LegacyOverrides jinjaLike = LegacyOverrides.newBuilder()
                    .withUseNaturalOperatorPrecedence(true) // filters bind tighter than + and ~
                    .withEvaluateMapKeys(true)
                    .withIterateOverMapKeys(true)
                    .withUsePyishObjectMapper(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withAllowAdjacentTextNodes(true)
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withKeepNullableLoopValues(true)
                    .build(); // not whitespaceRequiredWithinTokens: {{x}} and {%- x %} must parse
            JinjavaConfig config = JinjavaConfig.newBuilder()
                    .withFailOnUnknownTokens(true)
                    .withTrimBlocks(true)
                    .withLstripBlocks(true)
                    .withLegacyOverrides(jinjaLike)
                    .build();
            Jinjava jinjava = new Jinjava(config);
            try {
                Method raise = ChatTemplate.class.getDeclaredMethod("raiseException", Object.class);
                raise.setAccessible(true);
                jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", raise));
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(e);
            }
            return jinjava;
        }
    }
}
