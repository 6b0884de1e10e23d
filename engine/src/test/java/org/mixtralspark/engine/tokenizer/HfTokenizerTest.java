package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HF tokenizer.json path against the oracle's prompt ids (README §2) and HF encode/decode conventions. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HfTokenizerTest {

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
            kquant = HfTokenizer.load(TokenizerOracle.kquantHf().resolve("tokenizer.json"));
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
    void miniMistralPromptTextsGiveTheOracleIds() {
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("mini-mistral")) {
            assertArrayEquals(p.ids(), mistral.encode(p.text(), true), p.toString());
            assertArrayEquals(p.ids(), mistral.encode(p.text()), p + " (add_bos_token from tokenizer_config)");
        }
    }

    @Test
    void kquantPromptTextsGiveTheOracleIds() {
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("kquant")) {
            assertArrayEquals(p.ids(), kquant.encode(p.text(), true), p.toString());
        }
    }

    @Test
    void longTextIsNotTruncatedAt512() {
        TokenizerOracle.Prompt prose = TokenizerOracle.prompts("mini-mistral").stream()
                .filter(p -> p.name().equals("prose_600")).findFirst().orElseThrow();
        String twice = prose.text() + "\n\n" + prose.text();
        int[] ids = mistral.encode(twice, true);
        assertTrue(ids.length > 1100, "600-token text twice gave only " + ids.length + " ids");
        assertArrayEquals(prose.ids(), Arrays.copyOf(ids, prose.ids().length));
    }

    @Test
    void withoutBosTheIdsAreTheSameMinusBos() {
        TokenizerOracle.Prompt shortPrompt = TokenizerOracle.prompts("mini-mistral").get(1);
        int[] ids = mistral.encode(shortPrompt.text(), false);
        assertArrayEquals(Arrays.copyOfRange(shortPrompt.ids(), 1, shortPrompt.ids().length), ids);
        assertEquals(0, mistral.encode("", false).length);
        assertArrayEquals(new int[] {1}, mistral.encode("", true));
    }

    @Test
    void specialTokenTextInTheInputBecomesTheToken() {
        // As HF does: a rendered chat template carries "<s>" as text and is encoded with add_special_tokens=False.
        int[] ids = mistral.encode("<s>[INST] hi [/INST]", false);
        assertEquals(1, ids[0]);
        assertEquals(mistral.encode("[INST] hi [/INST]", true).length, ids.length);
        int[] eos = mistral.encode("a</s>", false);
        assertEquals(2, eos[eos.length - 1]);
    }

    @Test
    void decodeIsTheInverseOfEncodeAndSkipsSpecialTokens() {
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("mini-mistral")) {
            assertEquals(p.text(), mistral.decode(p.ids()), p.toString());
        }
        for (TokenizerOracle.Prompt p : TokenizerOracle.prompts("kquant")) {
            assertEquals(p.text(), kquant.decode(p.ids()), p.toString());
        }
        assertEquals("hi", mistral.decode(new int[] {1, 12014, 2}));
        assertEquals("<s> hi</s>", mistral.decode(new int[] {1, 12014, 2}, false));
    }

    @Test
    void vocabularyFacts() {
        assertEquals(32000, mistral.vocabSize());
        assertEquals(512, kquant.vocabSize());
        assertEquals(1, mistral.bosId());
        assertEquals(2, mistral.eosId());
        assertEquals("<s>", mistral.bosToken());
        assertEquals("</s>", mistral.eosToken());
        assertTrue(mistral.addBosByDefault());
        assertEquals("▁hi", mistral.piece(12014));
        assertEquals("<0x0A>", mistral.piece(13));
        assertTrue(mistral.isSpecial(0) && mistral.isSpecial(1) && mistral.isSpecial(2));
        assertFalse(mistral.isSpecial(13));
        assertEquals(ChatTemplates.MIXTRAL_INSTRUCT_SOURCE, mistral.chatTemplateSource().orElseThrow());
        assertTrue(kquant.chatTemplateSource().isEmpty(), "kquant's tokenizer_config has no chat template");
    }

    @Test
    void concurrentEncodesGiveTheSequentialIds() throws Exception {
        java.util.List<TokenizerOracle.Prompt> prompts = TokenizerOracle.prompts("mini-mistral");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
            for (int task = 0; task < 8; task++) {
                results.add(pool.submit(() -> {
                    for (int round = 0; round < 25; round++) {
                        for (TokenizerOracle.Prompt p : prompts) {
                            if (!Arrays.equals(p.ids(), mistral.encode(p.text(), true))
                                    || !p.text().equals(mistral.decode(p.ids()))) {
                                return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            for (java.util.concurrent.Future<Boolean> r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void idsOutsideTheVocabularyAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kquant.decode(new int[] {5, 512}));
        assertTrue(e.getMessage().contains("512"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> kquant.piece(-1));
    }

    @Test
    void withoutTokenizerConfigBosComesFromThePostProcessor() throws Exception {
        String json = java.nio.file.Files.readString(TokenizerOracle.kquantHf().resolve("tokenizer.json"));
        try (HfTokenizer bare = HfTokenizer.fromJson(json, HfTokenizerConfig.NONE)) {
            assertEquals(1, bare.bosId());
            assertEquals(2, bare.eosId());
            assertTrue(bare.addBosByDefault());
        }
        try (HfTokenizer noBos = HfTokenizer.fromJson(json, new HfTokenizerConfig(false, null, null, null))) {
            assertFalse(noBos.addBosByDefault());
            assertEquals(noBos.encode("the", false).length, noBos.encode("the").length);
        }
    }

    @Test
    void aBrokenDefinitionIsAnIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> HfTokenizer.fromJson("{", HfTokenizerConfig.NONE));
        assertThrows(IllegalArgumentException.class,
                () -> HfTokenizer.fromJson("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": 7}}",
                        HfTokenizerConfig.NONE));
    }
}
