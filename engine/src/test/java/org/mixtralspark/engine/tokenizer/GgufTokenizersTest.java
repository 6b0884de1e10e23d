package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
        compareWithHf(TokenizerOracle.miniMistralGguf(), TokenizerOracle.miniMistralHf(), "mini-mistral");
    }

    @Test
    void kquantGgufMatchesItsHfTokenizer() throws Exception {
        compareWithHf(TokenizerOracle.kquantGguf(), TokenizerOracle.kquantHf(), "kquant");
    }

    private void compareWithHf(Path gguf, Path hfFolder, String model) throws Exception {
        Map<String, Object> metadata = metadata(gguf);
        JsonNode built = JSON.readTree(GgufTokenizers.tokenizerJson(metadata));
        JsonNode hf = JSON.readTree(Files.readString(hfFolder.resolve("tokenizer.json")));

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
             HfTokenizer fromHf = HfTokenizer.load(hfFolder)) {
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
        int files = 0;
        int prompts = 0;
        List<String> stems = Oracle.shippedGgufStems();
        for (String stem : stems) {
            if (!Oracle.has("references/llamacpp/" + stem + ".json")) {
                continue;
            }
            String model = stem.startsWith("mini-mistral") ? "mini-mistral" : "kquant";
            try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata(Oracle.model(stem + ".gguf")))) {
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
        // Every GGUF at hand has a llama.cpp reference: in ../shared/oracle the 9 shipped ones (10 have references;
        // kquant-f32.gguf is not shipped, README §0), in the bundled subset 2.
        assertEquals(stems.size(), files, "GGUF files at hand with a llama.cpp reference: " + stems);
        if (Oracle.sharedDir() != null && Oracle.has("models/kquant-bf16.gguf")) {
            assertEquals(9, files, "shipped GGUF files with a llama.cpp reference");
        }
        assertTrue(files > 0);
        assertEquals(files * 6, prompts, "prompts compared");
    }

    @Test
    void ggufMetadataGivesBosEosAndTheChatTemplate() {
        try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata(TokenizerOracle.miniMistralGguf()))) {
            assertEquals("<s>", t.bosToken());
            assertEquals("</s>", t.eosToken());
            assertTrue(t.addBosByDefault());
            assertEquals(ChatTemplates.MIXTRAL_INSTRUCT_SOURCE, t.chatTemplateSource().orElseThrow());
            assertEquals("<s>[INST] Hi [/INST]", t.chatTemplate().render(List.of(Map.of("role", "user",
                    "content", "Hi")), true));
        }
        try (HfTokenizer t = GgufTokenizers.fromMetadata(metadata(TokenizerOracle.kquantGguf()))) {
            assertFalse(t.chatTemplateSource().isPresent());
            assertEquals(ChatTemplates.MIXTRAL_INSTRUCT, t.chatTemplate(), "no template in the file: the default");
        }
    }

    @Test
    void aHostileGgufChatTemplateFailsTheLoadNamingTheFile() {
        Path gguf = TokenizerOracle.miniMistralGguf();
        Map<String, Object> metadata = new java.util.HashMap<>(metadata(gguf));
        metadata.put("tokenizer.chat_template", "{% import 'os' as os %}{{ os.system('id') }}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufTokenizers.fromMetadata(metadata, gguf + " (tokenizer.chat_template)"));
        assertEquals("chat template " + gguf + " (tokenizer.chat_template), line 1 does not parse: 'import' is not"
                + " allowed: a chat template cannot load other templates, files or resources", e.getMessage());
    }

    private static Map<String, Object> metadata(Path gguf) {
        try (GgufFile file = GgufFile.open(gguf)) {
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
