package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Streaming decode: pushes + flush concatenate to the one-shot decode, and characters never come out split. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingDecoderTest {

    private static final List<String> TEXTS = List.of(
            "🦙 llamas 🙂👋 and 👨‍👩‍👧 families",
            "東京へようこそ、世界！ 中文 한국어 ελληνικά",
            "   leading spaces, \ttabs\n\nand  double  spaces   ",
            "ends with an emoji 🦙",
            "🦙 starts with one",
            "Grüße aus Zürich! 7:4 ½ ∑ x² — “quotes”");

    private HfTokenizer mistral;
    private HfTokenizer kquant;

    /**
     * Loaded before each test, once: a missing oracle file then skips each test, where a skip in {@code @BeforeAll}
     * would make surefire report the class as running no test at all.
     */
    @BeforeEach
    void load() {
        if (mistral == null) {
            mistral = HfTokenizer.load(TokenizerOracle.miniMistralHf());
        }
        if (kquant == null) {
            kquant = HfTokenizer.load(TokenizerOracle.kquantHf());
        }
    }

    @AfterAll
    void close() {
        if (mistral != null) {
            mistral.close();
        }
        if (kquant != null) {
            kquant.close();
        }
    }

    @Test
    void oraclePromptIdsStreamToTheirDecode() {
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("mini-mistral")) {
            assertEquals(mistral.decode(p.ids()), stream(mistral, p.ids()), p.toString());
        }
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("kquant")) {
            // kquant falls back to bytes for every capital, digit and punctuation mark.
            assertEquals(kquant.decode(p.ids()), stream(kquant, p.ids()), p.toString());
        }
    }

    @Test
    void emojiAndCjkTextStreamsToItsDecode() {
        for (String text : TEXTS) {
            for (HfTokenizer t : List.of(mistral, kquant)) {
                int[] ids = t.encode(text, true);
                assertEquals(t.decode(ids), stream(t, ids), text);
                assertEquals(text, t.decode(ids), "round trip");
            }
        }
    }

    @Test
    void aByteFallbackEmojiComesOutWhole() {
        int[] ids = mistral.encode("a🦙b", false);      // ▁a <0xF0> <0x9F> <0xA6> <0x99> b
        StreamingDecoder d = mistral.streamingDecoder();
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(d.push(id));
        }
        pieces.add(d.flush());
        assertEquals(List.of("a", "", "", "", "🦙", "b", ""), pieces);
    }

    @Test
    void theFirstTokensLeadingSpaceGoesAndLaterOnesStay() {
        int[] ids = mistral.encode("Hello world", false);
        assertEquals(List.of("▁Hello", "▁world"), List.of(mistral.piece(ids[0]), mistral.piece(ids[1])));
        StreamingDecoder d = mistral.streamingDecoder();
        assertEquals("Hello", d.push(ids[0]));
        assertEquals(" world", d.push(ids[1]));
        assertEquals("", d.flush());
    }

    @Test
    void specialTokensInTheMiddleAreSkippedWithoutEatingASpace() {
        int[] a = mistral.encode("one two", true);
        int[] b = mistral.encode(" three", false);
        int[] ids = new int[a.length + 1 + b.length];
        System.arraycopy(a, 0, ids, 0, a.length);
        ids[a.length] = mistral.eosId();
        System.arraycopy(b, 0, ids, a.length + 1, b.length);
        assertEquals(mistral.decode(ids), stream(mistral, ids));
        assertEquals("one two  three", stream(mistral, ids));
    }

    @Test
    void anIncompleteCharacterIsHeldAndFlushedAsReplacement() {
        int[] ids = mistral.encode("🦙", false);          // ▁ <0xF0> <0x9F> <0xA6> <0x99>
        StreamingDecoder d = mistral.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.length - 1; i++) {
            out.append(d.push(ids[i]));
        }
        assertFalse(out.toString().contains("\uFFFD"), "nothing of a partial character comes out before flush");
        String rest = d.flush();
        assertEquals(mistral.decode(java.util.Arrays.copyOf(ids, ids.length - 1)), out + rest);
        assertEquals('\uFFFD', rest.charAt(rest.length() - 1));
    }

    @Test
    void longGenerationsStayExact() {
        // Past the decoder's compaction threshold (256 tokens), with text that keeps byte runs open across it.
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            sb.append(TEXTS.get(i % TEXTS.size())).append(' ');
        }
        int[] ids = mistral.encode(sb.toString(), true);
        assertEquals(mistral.decode(ids), stream(mistral, ids));
    }

    private static String stream(Tokenizer t, int[] ids) {
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(d.push(id));
        }
        return out.append(d.flush()).toString();
    }
}
