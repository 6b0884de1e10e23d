package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bound on the text one token stands for ({@link TextPerTokenBound}), checked against what Hugging Face
 * tokenizers (through DJL) actually make of texts: a real vocabulary's bound is never beaten, even by texts made of
 * its longest pieces; a definition that can shrink the text gets no bound, and the test shows on the tokenizer itself
 * that a bound would have been wrong there.
 */
class TextPerTokenBoundTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"mini-mistral", "kquant"})
    void noTextHasFewerTokensThanItsBytesOverTheBound(String model) {
        Path folder = model.equals("kquant") ? TokenizerOracle.kquantHf() : TokenizerOracle.miniMistralHf();
        try (HfTokenizer t = HfTokenizer.load(folder)) {
            OptionalInt bound = t.maxTextBytesPerToken();
            assertTrue(bound.isPresent(), "a BPE with byte fallback and a non-shrinking normalizer has a bound");
            List<String> texts = new ArrayList<>();
            TokenizerOracle.prompts(model).forEach(p -> texts.add(p.text()));
            texts.addAll(adversarialTexts(t, new Random(15)));
            int tightest = Integer.MAX_VALUE;
            for (String text : texts) {
                int tokens = t.encode(text, false).length;
                long bytes = text.getBytes(StandardCharsets.UTF_8).length;
                long atLeast = (bytes + bound.getAsInt() - 1) / bound.getAsInt();
                assertTrue(tokens >= atLeast, () -> "'" + text + "': " + tokens + " tokens, " + bytes + " bytes");
                tightest = Math.min(tightest, tokens - (int) atLeast);
            }
            assertTrue(tightest >= 0);
        }
    }

    /**
     * Texts that pack the most bytes into each token: runs of the vocabulary's longest pieces (as text: ▁ is a space),
     * random pieces, special-token texts, emoji and mixed scripts.
     */
    private static List<String> adversarialTexts(HfTokenizer t, Random random) {
        List<String> pieces = new ArrayList<>();
        for (int id = 0; id < t.vocabSize(); id++) {
            pieces.add(t.piece(id).replace('\u2581', ' '));
        }
        List<String> longest = new ArrayList<>(pieces);
        longest.sort((a, b) -> b.getBytes(StandardCharsets.UTF_8).length - a.getBytes(StandardCharsets.UTF_8).length);
        List<String> texts = new ArrayList<>();
        for (String piece : longest.subList(0, Math.min(50, longest.size()))) {
            texts.add(piece.repeat(20));
        }
        for (int i = 0; i < 200; i++) {
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < 30; k++) {
                sb.append(pieces.get(random.nextInt(pieces.size())));
            }
            texts.add(sb.toString());
        }
        texts.add("<s></s><unk>".repeat(10));
        texts.add("\uD83D\uDE00\uD83D\uDC4D\u00e9\u4e2d\u6587 \u0928\u092e\u0938\u094d\u0924\u0947 ".repeat(20));
        texts.add(" ".repeat(500));
        texts.add("\n\n\t".repeat(100));
        return texts;
    }

    @Test
    void definitionsThatCanShrinkTheTextGetNoBound() throws Exception {
        String json = Files.readString(TokenizerOracle.miniMistralHf().resolve("tokenizer.json"));
        assertTrue(bound(json).isPresent());
        assertTrue(bound(edit(json, r -> addNormalizer(r, "NFKC"))).isEmpty(), "Unicode composition");
        assertTrue(bound(edit(json, r -> addNormalizer(r, "Lowercase"))).isEmpty(), "the Kelvin sign lowercases to k");
        assertTrue(bound(edit(json, r -> addNormalizer(r, "Strip").put("strip_left", true).put("strip_right", true))).isEmpty(), "strips whitespace");
        assertTrue(bound(edit(json, r -> ((ObjectNode) r.get("normalizer").get("normalizers").get(1))
                .put("content", ""))).isEmpty(), "a Replace that deletes");
        assertTrue(bound(edit(json, r -> r.putObject("pre_tokenizer").put("type", "WhitespaceSplit"))).isEmpty());
        assertTrue(bound(edit(json, r -> ((ObjectNode) r.get("added_tokens").get(1)).put("lstrip", true))).isEmpty(),
                "an added token that swallows the spaces before it");
        assertTrue(bound(edit(json, r -> ((ObjectNode) r.get("model")).put("byte_fallback", false))).isEmpty(),
                "unknown characters fused into one unk");
        // a WordPiece model maps a whole unknown word to one [UNK] (asked of the rule alone: DJL wants WordPiece's
        // own fields to load it)
        ObjectNode wordPiece = (ObjectNode) JSON.readTree(json);
        ((ObjectNode) wordPiece.get("model")).put("type", "WordPiece");
        assertTrue(TextPerTokenBound.of(wordPiece, new String[] {"[UNK]", "a"}).isEmpty());
    }

    @Test
    void whereThereIsNoBoundOneWouldHaveBeenWrong() throws Exception {
        // The same vocabulary with whitespace splitting: 200 000 newlines (the normalizer leaves them, unlike spaces)
        // around one word are a token or two.
        String json = edit(Files.readString(TokenizerOracle.miniMistralHf().resolve("tokenizer.json")),
                r -> r.putObject("pre_tokenizer").put("type", "WhitespaceSplit"));
        int plainBound;
        try (HfTokenizer plain = HfTokenizer.load(TokenizerOracle.miniMistralHf())) {
            plainBound = plain.maxTextBytesPerToken().getAsInt();
        }
        try (HfTokenizer t = HfTokenizer.fromJson(json, HfTokenizerConfig.NONE)) {
            String text = "\n".repeat(100_000) + "hello" + "\n".repeat(100_000);
            int tokens = t.encode(text, false).length;
            assertTrue(tokens <= 3 && tokens < text.length() / plainBound, tokens + " tokens");
            assertTrue(t.maxTextBytesPerToken().isEmpty());
        }
    }

    @Test
    void theBoundIsTheLongestPieceInBytes() throws Exception {
        String json = Files.readString(TokenizerOracle.miniMistralHf().resolve("tokenizer.json"));
        String longPiece = "\u2581" + "x".repeat(300);
        String withLongAddedToken = edit(json, r -> {
            ObjectNode added = ((ArrayNode) r.get("added_tokens")).addObject();
            added.put("id", 32000).put("content", longPiece).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", false);
        });
        assertEquals(303, bound(withLongAddedToken).getAsInt(), "▁ is 3 bytes, x 1");
        try (HfTokenizer t = HfTokenizer.fromJson(withLongAddedToken, HfTokenizerConfig.NONE)) {
            // the added token's text (the piece itself, matched as written) is one token: the bound is reached
            String text = longPiece.repeat(4);
            assertEquals(4, t.encode(text, false).length);
            assertEquals(4, (text.getBytes(StandardCharsets.UTF_8).length + 302) / 303);
        }
    }

    private static OptionalInt bound(String json) {
        try (HfTokenizer t = HfTokenizer.fromJson(json, HfTokenizerConfig.NONE)) {
            return t.maxTextBytesPerToken();
        }
    }

    private static String edit(String json, Consumer<ObjectNode> change) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(json);
        change.accept(root);
        return JSON.writeValueAsString(root);
    }

    private static ObjectNode addNormalizer(ObjectNode root, String type) {
        return ((ArrayNode) root.get("normalizer").get("normalizers")).addObject().put("type", type);
    }
}
