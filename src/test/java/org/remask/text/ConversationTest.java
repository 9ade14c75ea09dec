package org.remask.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.remask.text.Fixtures.EOS;
import static org.remask.text.Fixtures.EOT;
import static org.remask.text.Fixtures.MASK;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ConversationTest {
    private static final String BOS = "<|startoftext|>";
    private static final String SH = "<|start_header_id|>";
    private static final String EH = "<|end_header_id|>";
    private static final String EOT_TEXT = "<|eot_id|>";

    private static Tokenizer tok;
    private static ChatTemplate template;

    @BeforeAll
    static void load() {
        tok = Tokenizer.load(Fixtures.lladaTiny());
        template = ChatTemplate.load(Fixtures.lladaTiny());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /** What a generation gives back after the prompt: the answer, then EOS padding to the full length. */
    private static long[] padded(String answer, long... tail) {
        return LongStream.concat(LongStream.concat(LongStream.of(tok.encode(answer)), LongStream.of(tail)),
                LongStream.generate(() -> EOS).limit(8)).toArray();
    }

    @Test
    void historyKeepsOnlyTheDecodedAnswer() {
        Conversation chat = new Conversation(template, "Be brief.");
        String first = chat.ask("What is the capital of France?");
        assertEquals(BOS + SH + "system" + EH + "\n\nBe brief." + EOT_TEXT
                + SH + "user" + EH + "\n\nWhat is the capital of France?" + EOT_TEXT
                + SH + "assistant" + EH + "\n\n", first);
        assertTrue(chat.awaitingAnswer());

        // EOS padding and a mask left behind are not part of the answer.
        assertEquals("Paris.", chat.answer(padded("Paris.", EOS, MASK, EOS), tok));
        assertFalse(chat.awaitingAnswer());

        String second = chat.ask("And of Italy?");
        assertEquals(BOS + SH + "system" + EH + "\n\nBe brief." + EOT_TEXT
                + SH + "user" + EH + "\n\nWhat is the capital of France?" + EOT_TEXT
                + SH + "assistant" + EH + "\n\nParis." + EOT_TEXT
                + SH + "user" + EH + "\n\nAnd of Italy?" + EOT_TEXT
                + SH + "assistant" + EH + "\n\n", second);
        assertEquals("Rome.", chat.answer(padded("Rome.", EOT), tok));
        assertEquals(List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is the capital of France?"),
                ChatMessage.assistant("Paris."), ChatMessage.user("And of Italy?"), ChatMessage.assistant("Rome.")),
                chat.messages());
    }

    @Test
    void resetKeepsTheSystemMessage() {
        Conversation chat = new Conversation(template, "Be brief.");
        chat.ask("Hi");
        chat.answer("Hello.");
        chat.reset();
        assertEquals(List.of(ChatMessage.system("Be brief.")), chat.messages());
        assertEquals(BOS + SH + "system" + EH + "\n\nBe brief." + EOT_TEXT
                + SH + "user" + EH + "\n\nAgain" + EOT_TEXT + SH + "assistant" + EH + "\n\n", chat.ask("Again"));
        Conversation none = new Conversation(template);
        none.ask("Hi");
        none.reset();
        assertEquals(List.of(), none.messages());
    }

    @Test
    void anEmptyAnswerDropsItsQuestion() {
        Conversation chat = new Conversation(template);
        chat.ask("Hi");
        assertEquals("", chat.answer(padded("", MASK), tok));
        assertEquals(List.of(), chat.messages());
        assertFalse(chat.awaitingAnswer());
    }

    @Test
    void turnsMustAlternate() {
        Conversation chat = new Conversation(template);
        assertThrows(IllegalStateException.class, () -> chat.answer("no question yet"));
        chat.ask("Hi");
        assertThrows(IllegalStateException.class, () -> chat.ask("Hi again"));
        assertThrows(IllegalArgumentException.class, () -> new Conversation(template).ask("  "));
    }
}
