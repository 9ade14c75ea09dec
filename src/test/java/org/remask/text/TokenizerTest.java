package org.remask.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.remask.text.Fixtures.BOS;
import static org.remask.text.Fixtures.END_HEADER;
import static org.remask.text.Fixtures.EOS;
import static org.remask.text.Fixtures.EOT;
import static org.remask.text.Fixtures.MASK;
import static org.remask.text.Fixtures.START_HEADER;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenizerTest {
    private static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = Tokenizer.load(Fixtures.lladaTiny());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    private static long[] concat(long[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToLong(LongStream::of).toArray();
    }

    private static long id(String token) {
        OptionalLong id = tok.idOf(token);
        assertTrue(id.isPresent(), token + " is not in the fixture's vocabulary");
        return id.getAsLong();
    }

    @Test
    void specialTokensHaveLladasIds() {
        assertEquals(OptionalLong.of(BOS), tok.idOf("<|startoftext|>"));
        assertEquals(OptionalLong.of(EOS), tok.idOf("<|endoftext|>"));
        assertEquals(OptionalLong.of(MASK), tok.idOf("<|mdm_mask|>"));
        assertEquals(OptionalLong.of(START_HEADER), tok.idOf("<|start_header_id|>"));
        assertEquals(OptionalLong.of(END_HEADER), tok.idOf("<|end_header_id|>"));
        assertEquals(OptionalLong.of(EOT), tok.idOf("<|eot_id|>"));
        assertEquals(OptionalLong.empty(), tok.idOf("<|no_such_token|>"));
        // The native tokenizer agrees: a special token's string in the text encodes to its id.
        assertArrayEquals(new long[] {BOS, START_HEADER, END_HEADER, EOT, MASK, EOS},
                tok.encode("<|startoftext|><|start_header_id|><|end_header_id|><|eot_id|><|mdm_mask|><|endoftext|>"));
        assertTrue(tok.isSpecial(MASK));
        assertFalse(tok.isSpecial(id("Ġand")));
        assertEquals(126349, tok.vocabSize());
        assertArrayEquals(new long[] {EOS, EOT}, tok.stopIds());
    }

    @Test
    void encodeAddsNoSpecialTokens() {
        long[] ids = tok.encode("the and def");
        assertTrue(LongStream.of(ids).noneMatch(tok::isSpecial));
        assertArrayEquals(new long[] {id("t"), id("he"), id("Ġand"), id("Ġ"), id("def")}, ids);
        assertArrayEquals(new long[0], tok.encode(""));
    }

    @Test
    void chatPromptEncodesToTheDocumentedIds() {
        ChatTemplate template = ChatTemplate.load(Fixtures.lladaTiny());
        String prompt = template.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is 2+2?")), true);
        long[] ids = tok.encode(prompt);

        // Added tokens split the text; the pieces between them are encoded on their own.
        long[] expected = concat(
                new long[] {BOS, START_HEADER}, tok.encode("system"), new long[] {END_HEADER},
                tok.encode("\n\nBe brief."), new long[] {EOT, START_HEADER}, tok.encode("user"),
                new long[] {END_HEADER}, tok.encode("\n\nWhat is 2+2?"), new long[] {EOT, START_HEADER},
                tok.encode("assistant"), new long[] {END_HEADER}, tok.encode("\n\n"));
        assertArrayEquals(expected, ids);

        assertEquals(BOS, ids[0]);
        assertEquals(1, LongStream.of(ids).filter(i -> i == BOS).count());
        assertEquals(3, LongStream.of(ids).filter(i -> i == START_HEADER).count());
        assertEquals(3, LongStream.of(ids).filter(i -> i == END_HEADER).count());
        assertEquals(2, LongStream.of(ids).filter(i -> i == EOT).count());
        assertEquals(START_HEADER, ids[1]);
        int n = ids.length;
        // ... <|start_header_id|> assistant <|end_header_id|> \n\n, each one token in the fixture.
        assertArrayEquals(new long[] {START_HEADER, id("assistant"), END_HEADER, id("ĊĊ")},
                java.util.Arrays.copyOfRange(ids, n - 4, n));
        assertEquals("system\n\nBe brief.user\n\nWhat is 2+2?assistant\n\n", tok.decode(ids, new long[0]));
        assertEquals(prompt, tok.decodeRaw(ids));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "The quick brown fox and the lazy dog.",
        "héllo → 世界 🙂",
        "def add(a, b):\n    \"\"\"Sum.\"\"\"\n\treturn a + b\n\n\nprint(add(1, 2))  # 3\n",
        "  leading and trailing spaces  ",
    })
    void roundTrips(String text) {
        long[] ids = tok.encode(text);
        assertEquals(text, tok.decode(ids));
        assertEquals(text, tok.decodeRaw(ids));
    }

    @Test
    void decodeSkipsSpecialTokens() {
        long[] ids = concat(tok.encode("Hello"), new long[] {MASK, BOS}, tok.encode(" and"), new long[] {MASK});
        assertEquals("Hello and", tok.decode(ids));
        assertEquals("Hello<|mdm_mask|><|startoftext|> and<|mdm_mask|>", tok.decodeRaw(ids));
    }

    @Test
    void decodeCutsAtTheFirstEosOrEot() {
        long[] answer = tok.encode("Paris.");
        long[] after = tok.encode(" and more");
        assertEquals("Paris.", tok.decode(concat(answer, new long[] {EOS}, after, new long[] {EOS, EOS})));
        assertEquals("Paris.", tok.decode(concat(answer, new long[] {EOT}, after)));
        assertEquals("Paris.", tok.decode(concat(answer, new long[] {EOT, EOS}, after)));
        assertEquals("", tok.decode(concat(new long[] {EOS}, answer)));
        assertEquals("Paris. and more", tok.decode(concat(answer, after)));
        // Other stop ids on request; none at all keeps everything but the special tokens.
        assertEquals("Paris", tok.decode(concat(tok.encode("Paris"), tok.encode("."), after), tok.encode(".")));
        assertEquals("Paris. and more", tok.decode(concat(answer, new long[] {EOS}, after), new long[0]));
    }

    @Test
    void singleTokensForTraces() {
        assertEquals(" and", tok.token(id("Ġand")));
        assertEquals(" the", tok.token(id("Ġthe")));
        assertEquals("<|mdm_mask|>", tok.token(MASK));
        assertEquals("\n\n", tok.token(id("ĊĊ")));
        assertEquals("\uFFFD", tok.token(0xC3)); // one byte of a two-byte character
    }

    @Test
    void badIdsAndClosedTokenizer() {
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new long[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> tok.token(1L << 40));
        assertEquals("", tok.decode(new long[] {126_000})); // no such id: skipped, as the tokenizers library does
        Tokenizer other = Tokenizer.load(Fixtures.lladaTiny());
        other.close();
        other.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> other.encode("x"));
        assertEquals("the tokenizer is closed", e.getMessage());
    }

    @Test
    void missingTokenizerJson(@TempDir Path dir) {
        TextException e = assertThrows(TextException.class, () -> Tokenizer.load(dir));
        assertEquals(dir + " has no tokenizer.json", e.getMessage());
        Path nowhere = dir.resolve("nowhere");
        assertEquals(nowhere + " has no tokenizer.json",
                assertThrows(TextException.class, () -> Tokenizer.load(nowhere)).getMessage());
    }

    @Test
    void brokenTokenizerJson(@TempDir Path dir) throws IOException {
        String good = Files.readString(Fixtures.lladaTiny().resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer.json"), good.substring(0, good.length() / 2));
        TextException e = assertThrows(TextException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith("cannot load " + dir.resolve("tokenizer.json") + ": "), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
    }

    @Test
    void unsupportedTokenizerJson(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"NoSuchModel\"}}");
        TextException e = assertThrows(TextException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith("cannot load " + dir.resolve("tokenizer.json") + ": "), e.getMessage());
    }

    @Test
    void addedTokenWhoseIdTheLibraryWouldRenumber(@TempDir Path dir) throws IOException {
        // <x> is not in the vocabulary and 1000 does not follow it: the tokenizers library gives it id 2.
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [{"id": 1000, "content": "<x>", "single_word": false, "lstrip": false,
                                   "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1}, "unk_token": "a"}}
                """);
        TextException e = assertThrows(TextException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("added token '<x>' has id 1000"), e.getMessage());
    }

    @Test
    void eosTokenFromTokenizerConfigIsAStopId(@TempDir Path dir) throws IOException {
        Files.copy(Fixtures.lladaTiny().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|mdm_mask|>\"}}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new long[] {EOS, MASK, EOT}, t.stopIds());
            assertEquals("a", t.decode(concat(t.encode("a"), new long[] {MASK}, t.encode("b"))));
        }
    }
}
