package org.mixtralspark.engine.constrain;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.tokenizer.Tokenizer;
import org.mixtralspark.engine.tokenizer.Tokenizers;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bytes we give each token against what the model's own decoder (Hugging Face tokenizers, through DJL) makes of
 * it, over the whole 32000-piece Mistral vocabulary; and the token masks against a brute-force walk of every token.
 */
class TokenVocabularyTest {

    private static Tokenizer tokenizer;
    private static TokenVocabulary vocab;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizers.load(Oracle.model("mini-mistral-q8_0.gguf"));
        vocab = TokenVocabulary.of(tokenizer, tokenizer.vocabSize());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void everyTokensBytesAreWhatTheDecoderWrites() {
        assertEquals(32000, vocab.size());
        assertTrue(vocab.stripsLeadingSpace(), "Mistral's decoder strips the text's leading space");
        int anchor = tokenizer.encode("x", false)[0]; // decoded before each token, so no strip applies to it
        String anchorText = tokenizer.decode(new int[] {anchor});
        int checked = 0;
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytes(id);
            if (tokenizer.isSpecial(id)) {
                assertNull(b, "special token " + id);
                continue;
            }
            String ours;
            try {
                ours = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                assertEquals(1, b.length, "only byte-fallback tokens are partial characters: " + tokenizer.piece(id));
                continue;
            }
            String theirs = tokenizer.decode(new int[] {anchor, id}).substring(anchorText.length());
            assertEquals(theirs, ours, "token " + id + " " + tokenizer.piece(id));
            checked++;
        }
        assertTrue(checked > 31000, checked + " tokens checked");
        // byte fallback: <0x0A> is the newline byte
        int newline = Arrays.asList(pieces()).indexOf("<0x0A>");
        assertArrayEquals(new byte[] {10}, vocab.bytes(newline));
    }

    @Test
    void theFirstTokenLosesItsLeadingSpaceAsTheDecoderStripsIt() {
        int[] ids = tokenizer.encode("{\"a\"", false); // SentencePiece prefixes a space: the first piece is "▁{..."
        assertTrue(tokenizer.piece(ids[0]).startsWith("\u2581"), tokenizer.piece(ids[0]));
        byte[] first = vocab.firstBytes(ids[0]);
        assertEquals(tokenizer.decode(new int[] {ids[0]}), new String(first, StandardCharsets.UTF_8));
    }

    @Test
    void masksEqualABruteForceWalkOfEveryToken() {
        ResponseFormat f = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\","
                + "\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":99},\"s\":{\"type\":\"string\","
                + "\"maxLength\":3}},\"required\":[\"n\",\"s\"]}}");
        ConstrainedDecoding cd = new ConstrainedDecoding(tokenizer, tokenizer.vocabSize());
        TokenConstraint c = cd.start(f, new int[0]);
        String text = "{\"n\":42,\"s\":\"ab\"}";
        int[] ids = tokenizer.encode(text, false);
        Grammar g = f.grammar();
        int state = Grammar.START;
        for (int step = 0; step <= ids.length; step++) {
            TokenMasks.Mask mask = c.allowed();
            int count = 0;
            for (int id = 0; id < vocab.size(); id++) {
                byte[] b = step == 0 ? vocab.firstBytes(id) : vocab.bytes(id);
                boolean expected = id == vocab.eosId() ? g.accepts(state)
                        : b != null && b.length > 0 && g.walk(state, b, 0, b.length) >= 0;
                if (step == 0 && b != null && b.length == 0 && id != vocab.eosId()) {
                    expected = true; // "▁" alone at the start: the decoder strips it to nothing
                }
                assertEquals(expected, mask.allows(id), "step " + step + " token " + id + " " + tokenizer.piece(id));
                count += expected ? 1 : 0;
            }
            assertEquals(count, mask.count());
            if (step == ids.length) {
                assertTrue(mask.allows(vocab.eosId()), "EOS after the complete text");
                break;
            }
            assertTrue(mask.allows(ids[step]), "the text's own token " + step);
            byte[] b = step == 0 ? vocab.firstBytes(ids[step]) : vocab.bytes(ids[step]);
            state = g.walk(state, b, 0, b.length);
            c.accept(ids[step]);
        }
        assertTrue(c.complete());
    }

    @Test
    void aForcedTokenIsTheOnlyOneAndStopIdsOnlyEndACompleteText() {
        ResponseFormat f = ResponseFormat.parse("{\"type\":\"choice\",\"choices\":[\"<0x0A>\"]}");
        ConstrainedDecoding cd = new ConstrainedDecoding(tokenizer, tokenizer.vocabSize());
        int stop = tokenizer.encode("x", false)[0];
        TokenConstraint c = cd.start(f, new int[] {stop});
        TokenMasks.Mask first = c.allowed();
        assertTrue(first.count() > 1, "several tokens spell the start of \"<0x0A>\"");
        assertTrue(!first.allows(stop) && !first.allows(vocab.eosId()), "no end before the text is complete");
        for (int id : tokenizer.encode("<0x0A>", false)) {
            c.accept(id);
        }
        TokenMasks.Mask end = c.allowed();
        assertTrue(end.allows(vocab.eosId()) && end.allows(stop));
        assertEquals(2, end.count());

        TokenConstraint single = cd.start(ResponseFormat.parse("{\"type\":\"choice\",\"choices\":[\"\u00e9\"]}"),
                new int[0]);
        for (int id : tokenizer.encode("\u00e9", false)) {
            single.accept(id);
        }
        TokenMasks.Mask forced = single.allowed();
        assertEquals(1, forced.count());
        assertEquals(vocab.eosId(), forced.only());
    }

    private static String[] pieces() {
        String[] p = new String[tokenizer.vocabSize()];
        for (int i = 0; i < p.length; i++) {
            p[i] = tokenizer.piece(i);
        }
        return p;
    }
}
