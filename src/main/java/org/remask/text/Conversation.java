package org.remask.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The history of a multi-turn chat, kept as the LLaDA repository's chat loop keeps it: the generated
 * answer is padded with EOS, so only the answer's text, cut at the first EOS / EoT and without special
 * tokens, goes back into the history as the assistant message. Each turn's prompt is the whole history
 * rendered by the chat template, ending with the opening of the assistant's turn.
 *
 * <p>Not thread-safe.
 */
public final class Conversation {
    private final ChatTemplate template;
    private final ChatMessage system;
    private final List<ChatMessage> turns = new ArrayList<>();

    /** A conversation without a system message. */
    public Conversation(ChatTemplate template) {
        this(template, null);
    }

    /** A conversation that starts with this system message (null: none); {@link #reset()} keeps it. */
    public Conversation(ChatTemplate template, String systemMessage) {
        this.template = Objects.requireNonNull(template, "template");
        this.system = systemMessage == null ? null : ChatMessage.system(systemMessage);
    }

    /**
     * Adds the user's message and returns the prompt to generate from: the whole history rendered with
     * the generation prompt.
     *
     * @throws IllegalStateException when the previous user message has no answer yet
     */
    public String ask(String userMessage) {
        if (awaitingAnswer()) {
            throw new IllegalStateException("the previous user message has no answer yet");
        }
        ChatMessage message = ChatMessage.user(userMessage);
        turns.add(message);
        try {
            return template.render(messages(), true);
        } catch (RuntimeException e) {
            turns.removeLast();
            throw e;
        }
    }

    /**
     * Adds the answer to the last user message from the generated ids (the part after the prompt, EOS
     * padding included): decoded with the tokenizer's cut at the first EOS / EoT. Returns the answer text.
     * An answer that is empty after the cut (the model wrote only EOS) is not kept, and neither is the
     * question it answers, so that the history stays a list of complete exchanges.
     */
    public String answer(long[] generatedIds, Tokenizer tokenizer) {
        Objects.requireNonNull(generatedIds, "generatedIds");
        Objects.requireNonNull(tokenizer, "tokenizer");
        return answer(tokenizer.decode(generatedIds));
    }

    /** As {@link #answer(long[], Tokenizer)}, from the answer's text. */
    public String answer(String answerText) {
        Objects.requireNonNull(answerText, "answerText");
        if (!awaitingAnswer()) {
            throw new IllegalStateException("there is no user message to answer");
        }
        if (answerText.isBlank()) {
            turns.removeLast();
        } else {
            turns.add(ChatMessage.assistant(answerText));
        }
        return answerText;
    }

    /** Whether the last message is a user message without its answer. */
    public boolean awaitingAnswer() {
        return !turns.isEmpty() && turns.getLast().role().equals("user");
    }

    /** The history: the system message (if any), then the turns in order. */
    public List<ChatMessage> messages() {
        List<ChatMessage> all = new ArrayList<>(turns.size() + 1);
        if (system != null) {
            all.add(system);
        }
        all.addAll(turns);
        return List.copyOf(all);
    }

    /** Forgets all turns; the system message stays. */
    public void reset() {
        turns.clear();
    }
}
