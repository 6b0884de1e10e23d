package org.mixtralspark.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.io.ModelFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RoPE scaling (issue 10): our inverse frequencies against transformers' own functions
 * ({@code rope/inverse-frequencies.json}, written by {@code engine/src/test/python/rope_scaling_reference.py}), and how
 * config.json and GGUF metadata ask for it: every unsupported kind refused by name at load.
 */
class RopeScalingTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode resource(String name) throws IOException {
        try (InputStream in = RopeScalingTest.class.getResourceAsStream("/rope/" + name)) {
            assertTrue(in != null, "test resource rope/" + name);
            return JSON.readTree(in);
        }
    }

    /** The scaling an HF config.json with this {@code rope_scaling} object describes (what HfConfigs reads). */
    static RopeScaling parse(JsonNode scaling, Path dir) throws IOException {
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("model_type", "llama").put("vocab_size", 32).put("hidden_size", 64).put("intermediate_size", 64)
                .put("num_hidden_layers", 1).put("num_attention_heads", 4).put("max_position_embeddings", 4096);
        cfg.set("rope_scaling", scaling);
        Path file = dir.resolve("config.json");
        Files.writeString(file, cfg.toString());
        return HfConfigs.read(file).ropeScaling();
    }

    @Test
    void theInverseFrequenciesAreTransformers(@TempDir Path dir) throws IOException {
        JsonNode cases = resource("inverse-frequencies.json").get("cases");
        assertTrue(cases.size() >= 5, "the reference has its cases");
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            RopeScaling scaling = parse(c.get("rope_scaling"), dir);
            double[] ours = scaling.inverseFrequencies(c.get("head_dim").asInt(), c.get("rope_theta").asDouble());
            JsonNode theirs = c.get("inverse_frequencies");
            assertEquals(theirs.size(), ours.length, name);
            assertEquals(1.0, c.get("attention_factor").asDouble(), name + ": no attention factor for these kinds");
            for (int i = 0; i < ours.length; i++) {
                double t = theirs.get(i).asDouble();
                // transformers computes in float32: 1e-6 relative is a few of its roundings
                assertEquals(t, ours[i], 1e-6 * t, name + " frequency " + i);
            }
        }
    }

    @Test
    void llama3KeepsHighFrequenciesDividesLowOnesAndInterpolatesBetween() {
        // Llama 3.1: theta 500000, factor 8, low 1, high 4, original 8192
        RopeScaling s = RopeScaling.llama3(8, 1, 4, 8192);
        double[] plain = RopeScaling.none().inverseFrequencies(128, 5e5);
        double[] scaled = s.inverseFrequencies(128, 5e5);
        int kept = 0;
        int divided = 0;
        int between = 0;
        for (int i = 0; i < plain.length; i++) {
            double wavelength = 2 * Math.PI / plain[i];
            double ratio = plain[i] / scaled[i];
            if (wavelength < 8192 / 4.0) {
                assertEquals(1.0, ratio, 1e-12, "short wavelength " + wavelength);
                kept++;
            } else if (wavelength > 8192) {
                assertEquals(8.0, ratio, 1e-12, "long wavelength " + wavelength);
                divided++;
            } else {
                assertTrue(ratio > 1 && ratio < 8, "between: " + ratio);
                between++;
            }
        }
        assertTrue(kept > 0 && divided > 0 && between > 0, kept + " / " + between + " / " + divided);
        // the GGUF form (rope_freqs.weight) gives the same frequencies
        double[] viaDivisors = RopeScaling.none().withFrequencyDivisors(s.llama3Divisors(128, 5e5))
                .inverseFrequencies(128, 5e5);
        assertArrayEquals(scaled, viaDivisors, 1e-15);
    }

    @Test
    void aConfigReadsRopeScalingFromEitherKeyAndItsOlderTypeName(@TempDir Path dir) throws IOException {
        assertEquals(RopeScaling.linear(4), parse(JSON.readTree("{\"type\": \"linear\", \"factor\": 4}"), dir));
        assertEquals(RopeScaling.linear(2), parse(JSON.readTree("{\"rope_type\": \"linear\", \"factor\": 2.0}"), dir));
        assertEquals(RopeScaling.none(), parse(JSON.readTree("{\"rope_type\": \"default\"}"), dir));
        assertEquals(RopeScaling.none(), parse(null, dir));
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), parse(JSON.readTree("{\"rope_type\": \"llama3\", \"factor\": 8,"
                + " \"low_freq_factor\": 1, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}"), dir));
        // transformers 5 writes rope_parameters, with rope_theta inside
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("model_type", "mistral").put("vocab_size", 32).put("hidden_size", 64).put("intermediate_size", 64)
                .put("num_hidden_layers", 1).put("num_attention_heads", 4).put("max_position_embeddings", 4096);
        cfg.set("rope_parameters", JSON.readTree("{\"rope_type\": \"linear\", \"factor\": 3, \"rope_theta\": 250000}"));
        Path file = dir.resolve("config.json");
        Files.writeString(file, cfg.toString());
        MixtralConfig c = HfConfigs.read(file);
        assertEquals(RopeScaling.linear(3), c.ropeScaling());
        assertEquals(250000.0, c.ropeTheta());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dynamic", "yarn", "longrope", "su", "NTK"})
    void anUnsupportedKindIsRefusedByNameAtLoad(String type, @TempDir Path dir) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> parse(JSON.readTree("{\"rope_type\": \"" + type + "\", \"factor\": 4}"), dir));
        assertTrue(e.getMessage().contains("rope_scaling.rope_type = \"" + type + "\""), e.getMessage());
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertTrue(e.getMessage().contains("linear, llama3"), "says what is supported: " + e.getMessage());
    }

    @Test
    void aMissingOrBadParameterIsNamed(@TempDir Path dir) {
        Map<String, String> cases = new HashMap<>();
        cases.put("{\"rope_type\": \"linear\"}", "rope_scaling.factor");
        cases.put("{\"rope_type\": \"linear\", \"factor\": -2}", "rope_scaling.factor = -2.0");
        cases.put("{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4}",
                "rope_scaling.original_max_position_embeddings");
        cases.put("{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 4,"
                + " \"original_max_position_embeddings\": 8192}", "rope_scaling.high_freq_factor = 4.0");
        cases.put("{\"rope_type\": 3}", "rope_scaling.rope_type = 3");
        cases.put("\"linear\"", "rope_scaling = \"linear\"");
        cases.forEach((json, key) -> {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> parse(JSON.readTree(json), dir));
            assertTrue(e.getMessage().contains(key), json + " -> " + e.getMessage());
        });
    }

    @Test
    void ggufMetadataAsksForLinearScalingAndRefusesOtherKindsByName() {
        Path file = Path.of("m.gguf");
        Map<String, Object> md = new HashMap<>(Map.of("general.architecture", "llama", "llama.embedding_length", 64L,
                "llama.attention.head_count", 4L, "llama.feed_forward_length", 64L, "llama.block_count", 1L,
                "llama.context_length", 4096L, "llama.vocab_size", 32L));
        assertTrue(GgufConfigs.read(md, file).ropeScaling().isNone());
        md.put("llama.rope.scaling.type", "linear");
        md.put("llama.rope.scaling.factor", 4.0f);
        assertEquals(RopeScaling.linear(4), GgufConfigs.read(md, file).ropeScaling());
        md.remove("llama.rope.scaling.factor");
        ModelFormatException missing = assertThrows(ModelFormatException.class, () -> GgufConfigs.read(md, file));
        assertTrue(missing.getMessage().contains("llama.rope.scaling.factor"), missing.getMessage());
        md.put("llama.rope.scaling.type", "yarn");
        md.put("llama.rope.scaling.original_context_length", 4096L);
        ModelFormatException yarn = assertThrows(ModelFormatException.class, () -> GgufConfigs.read(md, file));
        assertTrue(yarn.getMessage().contains("llama.rope.scaling.type = yarn"), yarn.getMessage());
        assertTrue(yarn.getMessage().contains("original_context_length = 4096"), yarn.getMessage());
        assertTrue(yarn.getMessage().startsWith("m.gguf"), yarn.getMessage());
        md.remove("llama.rope.scaling.type");
        md.put("llama.rope.scale_linear", 2.0f); // the key before llama.rope.scaling.*
        assertEquals(RopeScaling.linear(2), GgufConfigs.read(md, file).ropeScaling());
    }

    @Test
    void aScalingSurvivesTheConfigCopiesAndDivisorsMustFitTheHead() {
        MixtralConfig c = new MixtralConfig(32, 64, 64, 2, 4, 2, 16, 1, 1, 1e4, 1e-5f, 4096)
                .withRopeScaling(RopeScaling.linear(2));
        assertEquals(RopeScaling.linear(2), c.withLayers(1).ropeScaling());
        assertNotEquals(c, c.withRopeScaling(RopeScaling.none()));
        assertNull(c.ropeScaling().frequencyDivisors());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.withRopeScaling(RopeScaling.none().withFrequencyDivisors(new double[] {1, 1, 1, 1, 1})));
        assertTrue(e.getMessage().contains("rope_freqs.weight"), e.getMessage());
    }
}
