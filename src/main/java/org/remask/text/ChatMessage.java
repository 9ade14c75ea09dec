package org.remask.text;

import java.util.Objects;
import java.util.Set;

/** One message of a chat: role system, user or assistant, and non-blank content. */
public record ChatMessage(String role, String content) {
    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (role == null || !ROLES.contains(role)) {
            throw new IllegalArgumentException("unknown role '" + role + "' (use system, user or assistant)");
        }
        Objects.requireNonNull(content, "content");
        if (content.isBlank()) {
            throw new IllegalArgumentException("the " + role + " message is empty");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
