package org.mixtralspark.engine.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * config.json and GGUF hyper-parameters a hostile or broken model could carry: each is a
 * {@link ModelFormatException} naming the file and the key, on one line, never an arithmetic or memory error.
 */
class HostileConfigTest {

    @TempDir
    Path tmp;

    private static final String VALID = "{\"model_type\": \"mixtral\", \"vocab_size\": 300, \"hidden_size\": 32,"
            + " \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
            + " \"num_key_value_heads\": 2, \"num_local_experts\": 4, \"num_experts_per_tok\": 2,"
            + " \"max_position_embeddings\": 64}";

    @Test
    void theBaseConfigIsValid() throws Exception {
        MixtralConfig c = HfConfigs.read(write(VALID));
        assertEquals(8, c.headDim());
    }

    @Test
    void zeroHeadsNamesTheKeyInsteadOfDividingByZero() throws Exception {
        assertRejected(VALID.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 0"),
                "num_attention_heads = 0", "(num_attention_heads)");
    }

    @Test
    void aHiddenSizeThatHeadsDoNotDivide() throws Exception {
        assertRejected(VALID.replace("\"hidden_size\": 32", "\"hidden_size\": 30"),
                "hidden_size = 30 is not a multiple of num_attention_heads = 4", "(head_dim)");
    }

    @Test
    void moreExpertsPerTokenThanExperts() throws Exception {
        assertRejected(VALID.replace("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 5"),
                "num_experts_per_tok = 5 exceeds num_local_experts = 4");
    }

    @Test
    void sizesNoModelHasAreRefusedBeforeAnythingIsSized() throws Exception {
        assertRejected(VALID.replace("\"vocab_size\": 300", "\"vocab_size\": 2000000000"), "vocab_size = 2000000000",
                "over the limit");
        assertRejected(VALID.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 1048576")
                .replace("\"hidden_size\": 32", "\"hidden_size\": 1048576"), "hidden_size = 1048576", "over the limit");
    }

    @Test
    void aFractionalSizeIsNotAnInteger() throws Exception {
        assertRejected(VALID.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 2.5"), "num_hidden_layers");
    }

    @Test
    void invalidJsonIsOneLineWithItsPosition() throws Exception {
        ModelFormatException e = assertRejected("{\n  \"model_type\": \"mixtral\",\n  \"vocab_size\": 300,\n",
                "config.json is not valid JSON", "line 4");
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aConfigThatNeverEndsIsRefusedAtItsSizeLimit() throws Exception {
        Path link = Files.createSymbolicLink(tmp.resolve("config.json"), Path.of("/dev/zero"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfConfigs.read(link));
        assertTrue(e.getMessage().startsWith(link + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("larger than the limit of 1048576 bytes"), e.getMessage());
    }

    @Test
    void ggufZeroHeadsNamesTheGgufKey() {
        Map<String, Object> md = new HashMap<>();
        md.put("general.architecture", "llama");
        md.put("llama.embedding_length", 32L);
        md.put("llama.attention.head_count", 0L);
        md.put("llama.vocab_size", 300L);
        md.put("llama.feed_forward_length", 64L);
        md.put("llama.block_count", 2L);
        md.put("llama.context_length", 64L);
        Path file = tmp.resolve("m.gguf");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufConfigs.read(md, file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("(llama.attention.head_count)"), e.getMessage());
        md.put("llama.attention.head_count", 4L);
        md.put("llama.embedding_length", 30L);
        e = assertThrows(ModelFormatException.class, () -> GgufConfigs.read(md, file));
        assertTrue(e.getMessage().contains("(llama.rope.dimension_count)"), e.getMessage());
    }

    private Path write(String json) throws Exception {
        return Files.writeString(tmp.resolve("config.json"), json);
    }

    private ModelFormatException assertRejected(String json, String... fragments) throws Exception {
        Path file = write(json);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfConfigs.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), "names the file: " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "lacks \"" + f + "\": " + e.getMessage());
        }
        return e;
    }
}
