package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-made GGUF metadata: score-ordered SentencePiece merges, the byte-level (gpt2) path, and key errors. */
class GgufSyntheticVocabTest {

    @Test
    void theHigherScoringMergedPieceWins() {
        // "ab" -> "▁a" "b" when "▁a" scores above "ab", and "▁" "ab" when "ab" scores above "▁a".
        try (HfTokenizer t = GgufTokenizers.fromMetadata(llamaMetadata(-4f, -5f))) {
            assertArrayEquals(new int[] {1, 6, 5}, t.encode("ab", true));
            assertEquals("ab", t.decode(t.encode("ab", true)));
        }
        try (HfTokenizer t = GgufTokenizers.fromMetadata(llamaMetadata(-4f, -3.5f))) {
            assertArrayEquals(new int[] {1, 3, 7}, t.encode("ab", true));
        }
    }

    @Test
    void addSpacePrefixFalseDropsTheLeadingSpace() {
        Map<String, Object> meta = llamaMetadata(-4f, -5f);
        meta.put("tokenizer.ggml.add_space_prefix", false);
        try (HfTokenizer t = GgufTokenizers.fromMetadata(meta)) {
            assertArrayEquals(new int[] {1, 7}, t.encode("ab", true));
            assertArrayEquals(new int[] {1, 6, 5}, t.encode(" ab", true));
        }
    }

    @Test
    void gpt2ByteLevelVocabularyEncodesWithItsMerges() {
        try (HfTokenizer t = GgufTokenizers.fromMetadata(gpt2Metadata())) {
            int[] ids = t.encode("hello world<|endoftext|>", false);
            // "hello" by four merges, " world" as "Ġw" + single bytes (ids 0-255 are the bytes), then the
            // CONTROL token.
            assertArrayEquals(new int[] {259, 260, 'o', 'r', 'l', 'd', 261}, ids);
            assertEquals("hello world", t.decode(ids));
            assertTrue(t.isSpecial(261));
            assertEquals(261, t.eosId());
            assertFalse(t.addBosByDefault(), "no add_bos_token key: a byte-level vocabulary adds nothing");
            assertEquals("é ü €", t.decode(t.encode("é ü €", false)), "non-ASCII goes through the byte alphabet");
        }
    }

    @Test
    void gpt2WithoutItsMergesOrWithAnotherSplitIsRefusedNamingTheKey() {
        Map<String, Object> meta = gpt2Metadata();
        meta.put("tokenizer.ggml.pre", "qwen2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufTokenizers.fromMetadata(meta));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre = qwen2"), e.getMessage());

        Map<String, Object> noMerges = gpt2Metadata();
        noMerges.remove("tokenizer.ggml.merges");
        e = assertThrows(IllegalArgumentException.class, () -> GgufTokenizers.fromMetadata(noMerges));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges"), e.getMessage());

        Map<String, Object> badMerge = gpt2Metadata();
        badMerge.put("tokenizer.ggml.merges", List.of("h e", "hell"));
        e = assertThrows(IllegalArgumentException.class, () -> GgufTokenizers.fromMetadata(badMerge));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges[1]"), e.getMessage());
    }

    @Test
    void unusableTokenizerKeysAreNamed() {
        assertRefused(m -> m.remove("tokenizer.ggml.model"), "GGUF metadata has no tokenizer.ggml.model");
        assertRefused(m -> m.put("tokenizer.ggml.model", "bert"), "tokenizer.ggml.model = bert is not supported");
        assertRefused(m -> m.put("tokenizer.ggml.scores", List.of(0f, 0f)),
                "tokenizer.ggml.scores has 2 entries but tokenizer.ggml.tokens has 9");
        assertRefused(m -> m.put("tokenizer.ggml.token_type", List.of(2L, 3L, "x", 1L, 1L, 1L, 1L, 1L, 1L)),
                "tokenizer.ggml.token_type[2] is String");
        assertRefused(m -> m.put("tokenizer.ggml.bos_token_id", 99L),
                "tokenizer.ggml.bos_token_id = 99 is outside the vocabulary");
        assertRefused(m -> m.put("tokenizer.ggml.tokens", List.of("<unk>", "<s>", "</s>", "▁", "a", "b", "a",
                "ab", "x")), "holds \"a\" twice (ids 4 and 6)");
        assertRefused(m -> m.remove("tokenizer.ggml.unknown_token_id"), "tokenizer.ggml.unknown_token_id");
        assertRefused(m -> m.put("tokenizer.ggml.add_bos_token", "yes"), "tokenizer.ggml.add_bos_token is String");
        assertRefused(m -> m.put("tokenizer.ggml.tokens", List.of()), "tokenizer.ggml.tokens is empty");
    }

    private static void assertRefused(Consumer<Map<String, Object>> edit, String expected) {
        Map<String, Object> meta = llamaMetadata(-4f, -5f);
        edit.accept(meta);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufTokenizers.fromMetadata(meta).close());
        assertTrue(e.getMessage().contains(expected), "message \"" + e.getMessage() + "\" should say: " + expected);
    }

    /** 0 unk, 1 s, 2 /s, 3 ▁, 4 a, 5 b, 6 ▁a, 7 ab, 8 x (no "▁ab", so the merge order decides). */
    private static Map<String, Object> llamaMetadata(float spaceAScore, float abScore) {
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "llama");
        m.put("tokenizer.ggml.tokens", List.of("<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "x"));
        m.put("tokenizer.ggml.scores", List.of(0f, 0f, 0f, -1f, -2f, -3f, spaceAScore, abScore, -9f));
        m.put("tokenizer.ggml.token_type", List.of(2L, 3L, 3L, 1L, 1L, 1L, 1L, 1L, 1L));
        m.put("tokenizer.ggml.bos_token_id", 1L);
        m.put("tokenizer.ggml.eos_token_id", 2L);
        m.put("tokenizer.ggml.unknown_token_id", 0L);
        m.put("tokenizer.ggml.add_bos_token", true);
        return m;
    }

    /**
     * A GPT-2 byte-level vocabulary: ids 0-255 are the bytes in GPT-2's printable alphabet, then "he", "ll", "hell",
     * "hello", "Ġw" (Ġ stands for the space byte) and the CONTROL token {@code <|endoftext|>}.
     */
    private static Map<String, Object> gpt2Metadata() {
        List<Object> tokens = new ArrayList<>();
        List<Object> types = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(byteChar(b)));
            types.add(1L);
        }
        String spaceW = byteChar(' ') + "w";
        for (String p : List.of("he", "ll", "hell", "hello", spaceW)) {
            tokens.add(p);
            types.add(1L);
        }
        tokens.add("<|endoftext|>");
        types.add(3L);
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "gpt2");
        m.put("tokenizer.ggml.pre", "default");
        m.put("tokenizer.ggml.tokens", tokens);
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.merges", List.of("h e", "l l", "he ll", "hell o", byteChar(' ') + " w"));
        m.put("tokenizer.ggml.eos_token_id", 261L);
        return m;
    }

    /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256, 257, ... in order. */
    private static char byteChar(int b) {
        int shifted = 0;
        for (int x = 0; x < 256; x++) {
            boolean printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (x == b) {
                return printable ? (char) x : (char) (256 + shifted);
            }
            if (!printable) {
                shifted++;
            }
        }
        throw new IllegalArgumentException("not a byte: " + b);
    }
}
