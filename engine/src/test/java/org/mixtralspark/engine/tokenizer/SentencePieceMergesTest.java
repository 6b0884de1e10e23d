package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The merge order of transformers' SentencePiece extractor, on cases the oracle vocabularies do not reach. */
class SentencePieceMergesTest {

    @Test
    void equalScoresKeepMergedIdThenOperandIdOrder() {
        // "abc" (id 5) splits as a+bc and ab+c; "bc" (id 3) and "ab" (id 4) tie at score -1 with "abc".
        String[] pieces = {"a", "b", "c", "bc", "ab", "abc"};
        float[] scores = {0, 0, 0, -1, -1, -1};
        assertEquals(List.of("b c", "a b", "a bc", "ab c"), render(SentencePieceMerges.derive(pieces, scores)));
    }

    @Test
    void negativeZeroTiesWithZeroAsInPython() {
        // gguf-py writes -(id - 259) as float32, so id 259 scores -0.0: it must not sort after the 0.0 pieces.
        String[] pieces = {"a", "b", "ab", "ba"};
        float[] scores = {0, 0, -0.0f, 0.0f};
        assertEquals(List.of("a b", "b a"), render(SentencePieceMerges.derive(pieces, scores)));
    }

    @Test
    void piecesWithCharactersBeyondTheBmpAreSplitAtEveryCodePoint() {
        // "🦙" is two UTF-16 chars: the split loop steps by code point and must still try the one after the emoji.
        String[] pieces = {"🦙", "x", "🦙x", "x🦙"};
        float[] scores = {0, 0, -1, -2};
        assertEquals(List.of("🦙 x", "x 🦙"), render(SentencePieceMerges.derive(pieces, scores)));
    }

    private static List<String> render(List<String[]> merges) {
        return merges.stream().map(m -> m[0] + " " + m[1]).collect(Collectors.toList());
    }
}
