package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.io.Oracle;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GGUF vocabulary -> tokenizer.json, against the HF tokenizer.json beside each model (README §1.4), the oracle's
 * prompt ids (§2) and llama.cpp's own tokenization of the prompt texts ({@code llama_tokenized_ids}).
 */
class GgufTokenizersTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Strings beyond the prompts, where tokenizers tend to differ: spaces, byte fallback, literal special text. */
    private static final List<String> EXTRA = List.of(
            "", " ", "  ", "\n", " \n", "\n\n\n", "\t", "           grabbed", "Hello world!",
            "<s>", "a<s>b", "</s> tail", "<unk>", "x <s> y </s> z",
            "🦙Ꙋ", "Ꙋ🦙", "東京へようこそ", "ελληνικά", "ab  cd   ef    gh", "CAPITALS and digits 0123456789",
            "the quick brown fox jumps over the lazy dog", "   leading and trailing   ");

    @Test
    void miniMistralGgufMatchesItsHfTokenizer() throws Exception {
        compareWithHf("mini-mistral-f32.gguf", "mini-mistral-hf", "mini-mistral");
    }

    @Test
    void kquantGgufMatchesItsHfTokenizer() throws Exception {
        compareWithHf("kquant-q8_0.gguf", "kquant-hf", "kquant");
    }

    private void compareWithHf(String gguf, String hfFolder, String model) throws Exception {
        Map<String, Object> metadata = metadata(gguf);
        JsonNode built = JSON.readTree(GgufTokenizers.tokenizerJson(metadata));
        JsonNode hf = JSON.readTree(Files.readString(TokenizerOracle.models().resolve(hfFolder + "/tokenizer.json")));

        // Structure: the same pipeline, vocabulary, special tokens and merges (in rank order) as the HF file.
        for (String part : List.of("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens")) {
            assertEquals(hf.get(part), built.get(part), part);
        }
        assertEquals(hf.get("model").get("vocab"), built.get("model").get("vocab"), "vocab");
        assertEquals(mergePairs(hf.get("model").get("merges")), mergePairs(built.get("model").get("merges")),
                "merges, in order");
        for (String flag : List.of("type", "unk_token", "fuse_unk", "byte_fallback")) {
            assertEquals(hf.get("model").get(flag), built.get("model").get(flag), "model." + flag);
        }

        // Behaviour: the same ids on every prompt text and the extra strings, and the oracle's ids.
        try (HfTokenizer fromGguf = GgufTokenizers.fromMetadata(metadata);
             HfTokenizer fromHf = HfTokenizer.load(TokenizerOracle.models().resolve(hfFolder))) {
            List<String> texts = new ArrayList<>(EXTRA);
            for (TokenizerOracle.Prompt p : TokenizerOracle.prompts(model)) {
                texts.add(p.text());
                assertArrayEquals(p.ids(), fromGguf.encode(p.text(), true), p.toString());
                assertArrayEquals(p.ids(), fromGguf.encode(p.text()), p + " with the GGUF's add_bos_token");
            }
            for (String text : texts) {
                assertArrayEquals(fromHf.encode(text, true), fromGguf.encode(text, true), text);
                int[] ids = fromHf.encode(text, false);
                assertEquals(fromHf.decode(ids), fromGguf.decode(ids), "decode of " + text);
            }
            assertEquals(fromHf.vocabSize(), fromGguf.vocabSize());
            assertEquals(fromHf.bosId(), fromGguf.bosId());
            assertEquals(fromHf.eosId(), fromGguf.eosId());
            assertEquals(fromHf.chatTemplateSource(), fromGguf.chatTemplateSource());
        }
    }

    @Test
    void everyShippedGgufMatchesLlamaCppsTokenization() {
        Path refs = Oracle.dir().resolve("references/llamacpp");
        int files = 0;
        int prompts = 0;
        for (String stem : Oracle.shippedGgufStems()) {
            if (!Files.isRegularFile(refs.resolve(stem + ".json"))) {
                continue;
            }
            String model = stem.startsWith("mini-mistral") ? "mini-mistral" : "kquant";
            try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata(stem + ".gguf"))) {
                for (TokenizerOracle.Prompt p : TokenizerOracle.llamaCppTokenized(model, stem)) {
                    // llama.cpp ran with parse_special=false: literal "<s>" would be text there, a token here.
                    if (p.text().contains("<s>") || p.text().contains("</s>") || p.text().contains("<unk>")) {
                        continue;
                    }
                    assertArrayEquals(p.ids(), t.encode(p.text(), true), p.toString());
                    prompts++;
                }
            }
            files++;
        }
        // 10 GGUFs have llama.cpp references; 9 are shipped (kquant-f32.gguf is not, README §0).
        assertEquals(9, files, "shipped GGUF files with a llama.cpp reference");
        assertEquals(9 * 6, prompts, "prompts compared");
    }

    @Test
    void ggufMetadataGivesBosEosAndTheChatTemplate() {
        try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata("mini-mistral-f32.gguf"))) {
            assertEquals("<s>", t.bosToken());
            assertEquals("</s>", t.eosToken());
            assertTrue(t.addBosByDefault());
            assertEquals(ChatTemplates.MIXTRAL_INSTRUCT_SOURCE, t.chatTemplateSource().orElseThrow());
            assertEquals("<s>[INST] Hi [/INST]", t.chatTemplate().render(List.of(Map.of("role", "user",
                    "content", "Hi")), true));
        }
        try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata("kquant-q8_0.gguf"))) {
            assertFalse(t.chatTemplateSource().isPresent());
            assertEquals(ChatTemplates.MIXTRAL_INSTRUCT, t.chatTemplate(), "no template in the file: the default");
        }
    }

    private static Map<String, Object> metadata(String gguf) {
        try (GgufFile file = GgufFile.open(TokenizerOracle.models().resolve(gguf))) {
            return file.metadata();
        }
    }

    /** Merges as "left right" strings, whichever of the two tokenizer.json spellings a file uses. */
    private static List<String> mergePairs(JsonNode merges) {
        List<String> out = new ArrayList<>(merges.size());
        for (JsonNode m : merges) {
            out.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }
        return out;
    }
}
