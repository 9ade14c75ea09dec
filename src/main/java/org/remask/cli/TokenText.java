package org.remask.cli;

/** Tokens written for traces as Python writes strings: ' and', '\n'. */
final class TokenText {
    private TokenText() {}

    static String quote(String token) {
        StringBuilder out = new StringBuilder(token.length() + 2).append('\'');
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            switch (c) {
                case '\'' -> out.append("\\'");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('\'').toString();
    }
}
