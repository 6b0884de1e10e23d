package org.mixtralspark.engine.model.gen;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;
import org.mixtralspark.engine.tokenizer.HfTokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The built-in vocabulary at Mixtral's size: distinct pieces, specials and bytes where llama.cpp expects them. */
class BuiltinVocabTest {

    @Test
    void mixtralSizedVocabularyHasDistinctPiecesAndTokenizesText() {
        Map<String, Object> md = BuiltinVocab.metadata(32000);
        List<?> tokens = (List<?>) md.get("tokenizer.ggml.tokens");
        assertEquals(32000, tokens.size());
        assertEquals(32000, new HashSet<>(tokens).size(), "pieces are distinct");
        assertEquals(32000, ((List<?>) md.get("tokenizer.ggml.scores")).size());
        assertEquals(32000, ((List<?>) md.get("tokenizer.ggml.token_type")).size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals("<0x0A>", tokens.get(3 + 10)); // llama.cpp looks the newline up as a byte piece
        assertEquals("▁", tokens.get(32000 - 27));
        HfTokenizer tok = GgufTokenizers.fromMetadata(md);
        String text = "the garden is Green, 42!\n";
        int[] ids = tok.encode(text, true);
        assertEquals(1, ids[0], "BOS");
        assertTrue(ids.length < text.length(), "multi-character pieces are used: " + ids.length);
        assertEquals(text, tok.decode(ids, true));
    }

    @Test
    void tooSmallIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> BuiltinVocab.metadata(BuiltinVocab.MIN_SIZE - 1));
    }
}
