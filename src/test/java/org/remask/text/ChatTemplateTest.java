package org.remask.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LLaDA-8B-Instruct chat template rendered by Jinjava. The expected strings are the layout of
 * docs/llada.md section 6 (and what Python's jinja2 renders from the same template with Hugging Face's
 * settings, checked when the fixture was written).
 */
class ChatTemplateTest {
    private static final String BOS = "<|startoftext|>";
    private static final String SH = "<|start_header_id|>";
    private static final String EH = "<|end_header_id|>";
    private static final String EOT = "<|eot_id|>";
    private static final String GENERATION_PROMPT = SH + "assistant" + EH + "\n\n";

    private static ChatTemplate llada;

    @BeforeAll
    static void load() {
        llada = ChatTemplate.load(Fixtures.lladaTiny());
    }

    @Test
    void systemAndUserWithGenerationPrompt() {
        String prompt = llada.render(List.of(
                ChatMessage.system("You are a helpful assistant."),
                ChatMessage.user("What is 2+2?")), true);
        assertEquals(BOS
                + SH + "system" + EH + "\n\nYou are a helpful assistant." + EOT
                + SH + "user" + EH + "\n\nWhat is 2+2?" + EOT
                + GENERATION_PROMPT, prompt);
    }

    @Test
    void userOnlyWithAndWithoutGenerationPrompt() {
        List<ChatMessage> messages = List.of(ChatMessage.user("Hi"));
        assertEquals(BOS + SH + "user" + EH + "\n\nHi" + EOT + GENERATION_PROMPT, llada.render(messages, true));
        assertEquals(BOS + SH + "user" + EH + "\n\nHi" + EOT, llada.render(messages, false));
    }

    @Test
    void multiTurnWithAnAssistantTurnHasOneBos() {
        List<ChatMessage> messages = List.of(
                ChatMessage.user("Hi"), ChatMessage.assistant("Hello! How can I help?"), ChatMessage.user("Bye"));
        String turns = BOS
                + SH + "user" + EH + "\n\nHi" + EOT
                + SH + "assistant" + EH + "\n\nHello! How can I help?" + EOT
                + SH + "user" + EH + "\n\nBye" + EOT;
        assertEquals(turns + GENERATION_PROMPT, llada.render(messages, true));
        assertEquals(turns, llada.render(messages, false));
    }

    @Test
    void contentIsTrimmedButNotTheRestOfTheLine() {
        // Jinja filters bind tighter than +: only the content is trimmed, the "\n\n" before it stays.
        String prompt = llada.render(List.of(ChatMessage.user("  \n\tdef f():\n    return 1\n\n  ")), false);
        assertEquals(BOS + SH + "user" + EH + "\n\ndef f():\n    return 1" + EOT, prompt);
    }

    @Test
    void newlinesWrittenOutInTheTemplateRenderTheSame() {
        // The fixture's template writes \n as a Jinja escape; a file may hold real newlines instead.
        String escaped = llada.source();
        assertTrue(escaped.contains("\\n\\n"), escaped);
        ChatTemplate literal = ChatTemplate.of(escaped.replace("\\n", "\n"), BOS, "<|endoftext|>");
        List<ChatMessage> messages = List.of(ChatMessage.system("S"), ChatMessage.user("U"));
        assertEquals(llada.render(messages, true), literal.render(messages, true));
    }

    @Test
    void bosAndEosTokensComeFromTokenizerConfig() {
        ChatTemplate t = ChatTemplate.load(Fixtures.lladaTiny());
        assertTrue(t.source().contains("message['content'] | trim"), t.source());
        ChatTemplate tokens = ChatTemplate.of("{{ bos_token }}|{{ eos_token }}", "<b>", "<e>");
        assertEquals("<b>|<e>", tokens.render(List.of(ChatMessage.user("x")), false));
    }

    @Test
    void bosTokenMayBeAnObjectWithContent(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<s>", "lstrip": false, "special": true},
                 "eos_token": "</s>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}{{ eos_token }}"}
                """);
        assertEquals("<s>hi</s>", ChatTemplate.load(dir).render(List.of(ChatMessage.user("hi")), false));
    }

    @Test
    void namedTemplatesUseDefault(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "tools"},
                                   {"name": "default", "template": "default:{{ messages[0]['role'] }}"}]}
                """);
        assertEquals("default:user", ChatTemplate.load(dir).render(List.of(ChatMessage.user("hi")), true));
    }

    @Test
    void blocksAreTrimmedAsHuggingFaceDoes() {
        // trim_blocks and lstrip_blocks, as apply_chat_template sets them; expected string from jinja2.
        String source = "{%- for m in messages %}\n    {% if m[\"role\"] == \"user\" %}\n"
                + "[{{ m[\"role\"] | upper }}] {{ m[\"content\"] }}\n    {% else %}\n"
                + "({{ m.role }}) {{ m.content }}\n    {% endif %}\n{% endfor %}\n{{- eos_token }}";
        String out = ChatTemplate.of(source, null, "<|endoftext|>")
                .render(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Yo")), false);
        assertEquals("[USER] Hi\n(assistant) Yo\n<|endoftext|>", out);
    }

    @Test
    void raiseExceptionFailsWithTheTemplatesMessage() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
                + "{% endif %}{{ m['content'] }}{% endfor %}", null, null);
        assertEquals("ab", t.render(List.of(ChatMessage.user("a"), ChatMessage.assistant("b")), false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), false));
        assertEquals("chat template failed to render: "
                + "Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    @Test
    void undefinedVariableFailsInsteadOfRenderingEmpty() {
        ChatTemplate t = ChatTemplate.of("{{ bos_token }}{{ messages[0]['content'] }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("a")), false));
        assertTrue(e.getMessage().startsWith("chat template failed to render: "), e.getMessage());
        assertTrue(e.getMessage().contains("bos_token"), e.getMessage());
        // `is defined` still works on an unset variable.
        ChatTemplate defined = ChatTemplate.of("{% if tools is defined %}T{% else %}U{% endif %}", null, null);
        assertEquals("U", defined.render(List.of(ChatMessage.user("a")), false));
    }

    @Test
    void syntaxErrorsFail() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{{ m['content'] }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("a")), false));
        assertTrue(e.getMessage().startsWith("chat template failed to render: "), e.getMessage());
        assertTrue(e.getMessage().contains("endfor"), e.getMessage());
        ChatTemplate filter = ChatTemplate.of("{{ messages[0]['content'] | no_such_filter }}", null, null);
        assertThrows(IllegalArgumentException.class, () -> filter.render(List.of(ChatMessage.user("a")), false));
    }

    @Test
    void unknownRoleAndEmptyContentAreRejected() {
        IllegalArgumentException role = assertThrows(IllegalArgumentException.class, () -> new ChatMessage("tool", "x"));
        assertEquals("unknown role 'tool' (use system, user or assistant)", role.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage("User", "x"));
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage(null, "x"));
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, () -> ChatMessage.user(""));
        assertEquals("the user message is empty", empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ChatMessage.system(" \n\t"));
        assertThrows(NullPointerException.class, () -> ChatMessage.assistant(null));
    }

    @Test
    void missingTokenizerConfig(@TempDir Path dir) {
        TextException e = assertThrows(TextException.class, () -> ChatTemplate.load(dir));
        assertEquals(dir + " has no tokenizer_config.json", e.getMessage());
    }

    @Test
    void brokenTokenizerConfig(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"x\",");
        TextException e = assertThrows(TextException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().startsWith("cannot load " + dir.resolve("tokenizer_config.json") + ": "),
                e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
    }

    @Test
    void noChatTemplate(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|startoftext|>\"}");
        TextException e = assertThrows(TextException.class, () -> ChatTemplate.load(dir));
        assertEquals(dir.resolve("tokenizer_config.json")
                + " has no chat_template: a Base model, whose prompts are plain text", e.getMessage());
        assertTrue(ChatTemplate.find(dir).isEmpty());
    }
}
