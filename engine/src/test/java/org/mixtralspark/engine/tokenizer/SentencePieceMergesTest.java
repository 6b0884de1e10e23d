package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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

    @Test
    void agreesWithTheDirectTranscriptionOfTransformersOnRandomVocabularies() {
        // Small alphabets (with a character beyond the BMP and duplicates) make many pieces prefixes and suffixes
        // of others, which is where the sorted-order pass could go wrong.
        String[] alphabet = {"a", "b", "\u2581", "🦙"};
        SplittableRandom random = new SplittableRandom(15);
        for (int round = 0; round < 200; round++) {
            int n = 1 + random.nextInt(60);
            String[] pieces = new String[n];
            float[] scores = new float[n];
            for (int i = 0; i < n; i++) {
                StringBuilder p = new StringBuilder();
                for (int len = random.nextInt(7); len > 0; len--) {
                    p.append(alphabet[random.nextInt(alphabet.length)]);
                }
                pieces[i] = p.toString();
                scores[i] = random.nextInt(5) - 2;
            }
            assertEquals(render(transformersExtract(pieces, scores)), render(SentencePieceMerges.derive(pieces, scores)),
                    "round " + round + ": " + List.of(pieces));
        }
    }

    @Test
    void aMegabytePieceTakesLinearWork() {
        // The hang: a 1 MB piece made transformers' algorithm slice it a million times. Here it is one sort
        // and one pass; a quadratic version would not finish.
        String huge = "a".repeat(1 << 20);
        String[] pieces = {"a", "aa", huge, huge.substring(1), "b"};
        List<String> merges = render(SentencePieceMerges.derive(pieces, new float[] {0, -1, -2, -3, 0}));
        assertEquals(List.of("a a", "a " + huge.substring(1), huge.substring(1) + " a"), merges);
    }

    /**
     * transformers' {@code SentencePieceExtractor.extract} transcribed line by line: every split of every piece, a
     * stable sort by score. Quadratic in a piece's length; the reference for small vocabularies.
     */
    private static List<String[]> transformersExtract(String[] pieces, float[] scores) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            vocab.put(pieces[id], id);
        }
        List<int[]> merges = new ArrayList<>();
        for (int id = 0; id < pieces.length; id++) {
            int[] cps = pieces[id].codePoints().toArray();
            List<int[]> local = new ArrayList<>();
            for (int k = 1; k < cps.length; k++) {
                Integer l = vocab.get(new String(cps, 0, k));
                Integer r = vocab.get(new String(cps, k, cps.length - k));
                if (l != null && r != null) {
                    local.add(new int[] {id, l, r});
                }
            }
            local.sort((x, y) -> x[1] != y[1] ? Integer.compare(x[1], y[1]) : Integer.compare(x[2], y[2]));
            merges.addAll(local);
        }
        merges.sort((x, y) -> Float.compare(scores[y[0]] + 0f, scores[x[0]] + 0f));
        List<String[]> out = new ArrayList<>();
        for (int[] m : merges) {
            out.add(new String[] {pieces[m[1]], pieces[m[2]]});
        }
        return out;
    }

    private static List<String> render(List<String[]> merges) {
        return merges.stream().map(m -> m[0] + " " + m[1]).collect(Collectors.toList());
    }
}
