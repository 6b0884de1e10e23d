package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The test suites of two public npm packages (test resources {@code tokenizer-suites/}, README there): every
 * {@code testCase(input, expectedIds)} is {@code encode(input, addBos = true)} plus the package's round-trip check
 * {@code decode(ids) == input}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerSuitesTest {

    /** Tokenizers built on first use (inside a case, so that a missing oracle skips cases, not the class). */
    private final Map<String, HfTokenizer> tokenizers = new HashMap<>();

    @AfterAll
    void close() {
        tokenizers.values().forEach(HfTokenizer::close);
    }

    @TestFactory
    List<DynamicTest> mistralSuiteWithTheHfTokenizer() {
        return encodeCases("mistral-tokenizer-suite.json", "mistral-hf",
                () -> HfTokenizer.load(TokenizerOracle.miniMistralHf()));
    }

    @TestFactory
    List<DynamicTest> mistralSuiteWithTheGgufVocabulary() {
        return encodeCases("mistral-tokenizer-suite.json", "mistral-gguf", () -> {
            try (GgufFile gguf = GgufFile.open(TokenizerOracle.miniMistralGguf())) {
                return GgufTokenizers.fromMetadata(gguf.metadata());
            }
        });
    }

    @TestFactory
    List<DynamicTest> llamaSuiteWithTheVocabularyTheLlamaPackageEmbeds() {
        return encodeCases("llama-tokenizer-suite.json", "llama", TokenizerSuitesTest::llama);
    }

    /**
     * The llama package's {@code testDecodeOnly(ids, expected, add_bos_token, add_preceding_space)} cases. Those with
     * {@code add_preceding_space = true} are HF decodes: {@code add_bos_token} there means "drop the BOS", which is
     * {@code skip_special_tokens}. With {@code add_preceding_space = false} the package keeps the space SentencePiece
     * prepended; HF has no such decode, so those 4 cases are not run.
     */
    @TestFactory
    List<DynamicTest> llamaSuiteDecodeCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : suite("llama-tokenizer-suite.json").get("decode_cases")) {
            if (!c.get("add_preceding_space").asBoolean()) {
                continue;
            }
            int[] ids = TokenizerOracle.ints(c.get("ids"));
            boolean skipSpecial = c.get("add_bos_token").asBoolean();
            String expected = c.get("expected").asText();
            tests.add(DynamicTest.dynamicTest("decode " + c.get("ids") + " skip_special=" + skipSpecial,
                    () -> assertEquals(expected, tokenizer("llama", TokenizerSuitesTest::llama)
                            .decode(ids, skipSpecial))));
        }
        assertEquals(4, tests.size(), "decode cases with an HF meaning");
        return tests;
    }

    private List<DynamicTest> encodeCases(String suiteFile, String key, Supplier<HfTokenizer> build) {
        JsonNode suite = suite(suiteFile);
        List<DynamicTest> tests = new ArrayList<>();
        JsonNode cases = suite.get("encode_cases");
        for (int i = 0; i < cases.size(); i++) {
            String input = cases.get(i).get("input").asText();
            int[] expected = TokenizerOracle.ints(cases.get(i).get("expected_ids"));
            tests.add(DynamicTest.dynamicTest(suite.get("package").asText() + " #" + i + " " + shorten(input), () -> {
                HfTokenizer t = tokenizer(key, build);
                int[] ids = t.encode(input, true);
                assertArrayEquals(expected, ids, "encode " + input);
                assertEquals(input, t.decode(ids), "decode(encode(input))");
            }));
        }
        assertEquals(12, tests.size(), suiteFile + " encode cases");
        return tests;
    }

    private HfTokenizer tokenizer(String key, Supplier<HfTokenizer> build) {
        HfTokenizer t = tokenizers.get(key);
        if (t == null) {
            t = build.get();
            tokenizers.put(key, t);
        }
        return t;
    }

    private static HfTokenizer llama() {
        return HfTokenizer.fromJson(LlamaJsVocabulary.tokenizerJson(), HfTokenizerConfig.NONE);
    }

    private static JsonNode suite(String file) {
        try (InputStream in = TokenizerSuitesTest.class.getResourceAsStream("/tokenizer-suites/" + file)) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String shorten(String s) {
        String oneLine = s.replace("\n", "\\n").replace("\t", "\\t");
        return oneLine.length() > 24 ? oneLine.substring(0, 24) + "…" : oneLine;
    }
}
