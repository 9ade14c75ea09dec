package org.remask.cli;

/** Parses "5,17,42" into token ids, with a message that names the option on bad input. */
final class TokenIds {
    private TokenIds() {}

    static long[] parse(String text, String option) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new IllegalArgumentException(option + " needs at least one token id");
        }
        String[] parts = trimmed.split("\\s*,\\s*", -1); // -1: "5," and "," have an empty id, which is refused
        long[] ids = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": '" + parts[i] + "' is not a token id");
            }
        }
        return ids;
    }
}
