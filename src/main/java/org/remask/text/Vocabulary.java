package org.remask.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * What DJL does not expose of tokenizer.json: the token strings and their ids (the model's vocabulary and
 * the added tokens) and which ids are special. Read with a streaming parser that skips the merges.
 */
final class Vocabulary {
    private static final JsonFactory JSON = new JsonFactory();

    private final Map<String, Long> ids;
    private final Map<Long, String> added;
    private final long[] specialIds; // sorted
    private final int size;

    private Vocabulary(Map<String, Long> ids, Map<Long, String> added, long[] specialIds, int size) {
        this.ids = ids;
        this.added = added;
        this.specialIds = specialIds;
        this.size = size;
    }

    OptionalLong idOf(String token) {
        Long id = ids.get(token);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    boolean isSpecial(long id) {
        return Arrays.binarySearch(specialIds, id) >= 0;
    }

    /** The added token with this id (special or not), or null. */
    String addedToken(long id) {
        return added.get(id);
    }

    /** The added tokens: id to content. */
    Map<Long, String> addedTokens() {
        return added;
    }

    /** The highest id plus one. */
    int size() {
        return size;
    }

    /** Parses tokenizer.json's text; a malformed file gives an IOException with the parser's message. */
    static Vocabulary parse(String json) throws IOException {
        Map<String, Long> ids = new HashMap<>();
        Map<Long, String> added = new HashMap<>();
        Map<String, Long> addedIds = new HashMap<>();
        List<Long> special = new ArrayList<>();
        try (JsonParser p = JSON.createParser(json)) {
            expect(p, p.nextToken(), JsonToken.START_OBJECT, "the top level");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("added_tokens".equals(field) && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        Long id = null;
                        String content = null;
                        boolean isSpecial = false;
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String name = p.currentName();
                            JsonToken t = p.nextToken();
                            switch (name) {
                                case "id" -> id = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
                                case "content" -> content = t == JsonToken.VALUE_STRING ? p.getText() : null;
                                case "special" -> isSpecial = t == JsonToken.VALUE_TRUE;
                                default -> p.skipChildren();
                            }
                        }
                        if (id == null || content == null) {
                            throw new IOException("an entry of added_tokens lacks its id or content");
                        }
                        addedIds.put(content, id);
                        added.put(id, content);
                        if (isSpecial) {
                            special.add(id);
                        }
                    }
                } else if ("model".equals(field) && value == JsonToken.START_OBJECT) {
                    readModel(p, ids);
                } else {
                    p.skipChildren();
                }
            }
        }
        ids.putAll(addedIds); // an added token's id wins, as in the tokenizers library
        long max = -1;
        for (long id : ids.values()) {
            max = Math.max(max, id);
        }
        if (max >= Integer.MAX_VALUE) {
            throw new IOException("token id " + max + " is too large");
        }
        long[] specialIds = special.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
        return new Vocabulary(Map.copyOf(ids), Map.copyOf(added), specialIds, (int) (max + 1));
    }

    /** model.vocab: {"token": id, ...} (BPE, WordPiece, WordLevel) or [["piece", score], ...] (Unigram, id = index). */
    private static void readModel(JsonParser p, Map<String, Long> ids) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("vocab".equals(field) && value == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    expect(p, p.nextToken(), JsonToken.VALUE_NUMBER_INT, "model.vocab");
                    ids.put(token, p.getLongValue());
                }
            } else if ("vocab".equals(field) && value == JsonToken.START_ARRAY) {
                long index = 0;
                while (p.nextToken() == JsonToken.START_ARRAY) {
                    expect(p, p.nextToken(), JsonToken.VALUE_STRING, "model.vocab");
                    ids.put(p.getText(), index++);
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
    }

    private static void expect(JsonParser p, JsonToken got, JsonToken wanted, String where) throws IOException {
        if (got != wanted) {
            throw new IOException("unexpected " + (got == null ? "end of input" : got.asString() == null
                    ? got.name() : "'" + got.asString() + "'") + " in " + where
                    + " at line " + p.currentLocation().getLineNr());
        }
    }
}
