package org.remask.serve;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The engine's and the command line's messages name options ({@code --block-length}); a request body names the
 * same settings as fields ({@code block_length}), and the generation length is OpenAI's {@code max_tokens}.
 */
public final class BodyNames {
    private static final Pattern OPTION = Pattern.compile("--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)");

    private BodyNames() {}

    /** The message with body names for option names. */
    public static String of(String message) {
        String named = message.replace("--gen-length", "--max-tokens").replace("gen length", "max_tokens")
                .replace("option '", "field '");
        return OPTION.matcher(named).replaceAll(m -> m.group(1).replace('-', '_'));
    }

    /** The body field of the first option the message names, or null. */
    public static String firstField(String message) {
        Matcher m = OPTION.matcher(message.replace("--gen-length", "--max-tokens"));
        return m.find() ? m.group(1).replace('-', '_') : null;
    }
}
