package org.mixtralspark.engine.io.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.TensorInfo;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every GGUF shipped with the oracle opens, with the tensor names, types and shapes of its dequant reference. */
class GgufOracleFilesTest {

    @Test
    void tensorsMatchTheDequantReference() {
        for (String stem : Oracle.shippedGgufStems()) {
            JsonNode ref = Oracle.dequantReference(stem);
            try (GgufFile gguf = GgufFile.open(Oracle.model(stem + ".gguf"))) {
                Set<String> seen = new HashSet<>();
                for (JsonNode t : ref.get("tensors")) {
                    String name = t.get("name").asText();
                    TensorInfo info = gguf.tensor(name);
                    assertNotNull(info, stem + ": " + name);
                    assertEquals(GgmlType.valueOf(t.get("type").asText()), info.type(), stem + ": " + name);
                    JsonNode ne = t.get("ne");
                    long[] expectedShape = new long[ne.size()];
                    for (int i = 0; i < ne.size(); i++) {
                        expectedShape[i] = ne.get(ne.size() - 1 - i).asLong();
                    }
                    assertEquals(java.util.Arrays.toString(expectedShape), info.shapeString(), stem + ": " + name);
                    assertEquals(info.type().bytesFor(info.elementCount()), info.byteSize());
                    assertEquals(0, (info.fileOffset() - gguf.dataStart()) % gguf.alignment());
                    seen.add(name);
                }
                assertEquals(seen, gguf.tensors().keySet(), stem + ": tensor names");
            }
        }
    }

    /** Every tensor of the F32 file; the F32 ones (norms, router) of the quantised files. */
    @ParameterizedTest
    @ValueSource(strings = {"mini-mistral-f32", "mini-mistral-q8_0", "kquant-q4_k_m"})
    void f32TensorBytesAreReadOnlyLittleEndianViews(String stem) {
        JsonNode ref = Oracle.dequantReference(stem);
        int f32 = 0;
        try (GgufFile gguf = GgufFile.open(Oracle.model(stem + ".gguf"))) {
            for (JsonNode t : ref.get("tensors")) {
                TensorInfo info = gguf.tensor(t.get("name").asText());
                if (info.type() != GgmlType.F32) {
                    continue;
                }
                f32++;
                java.nio.ByteBuffer whole = gguf.bytes(info);
                assertTrue(whole.isReadOnly());
                assertEquals(java.nio.ByteOrder.LITTLE_ENDIAN, whole.order());
                assertEquals(info.byteSize(), whole.remaining());
                java.nio.ByteBuffer tail = gguf.bytes(info, 4, 28);
                for (int i = 0; i < 8; i++) {
                    float expected = (float) t.get("first8").get(i).asDouble();
                    assertEquals(expected, whole.getFloat(4 * i), info.name() + "[" + i + "]");
                    if (i > 0) {
                        assertEquals(expected, tail.getFloat(4 * (i - 1)));
                    }
                }
            }
        }
        assertTrue(f32 > 0, stem + " has F32 tensors");
    }

    @Test
    void metadataOfMiniMistral() {
        try (GgufFile gguf = GgufFile.open(Oracle.model("mini-mistral-q8_0.gguf"))) {
            assertEquals(3, gguf.version());
            assertEquals("llama", gguf.getString("general.architecture"));
            assertEquals(8, gguf.getInt("llama.expert_count"));
            assertEquals(2, gguf.getInt("llama.expert_used_count"));
            assertEquals(64, gguf.getInt("llama.embedding_length"));
            assertEquals(2, gguf.getInt("llama.block_count"));
            assertEquals(1e6f, gguf.getFloat("llama.rope.freq_base"));
            assertEquals(1e-5f, gguf.getFloat("llama.attention.layer_norm_rms_epsilon"));
            assertEquals(32000, gguf.getStringList("tokenizer.ggml.tokens").size());
            assertEquals(32000, gguf.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(32000, gguf.getIntArray("tokenizer.ggml.token_type").length);
            assertEquals("<s>", gguf.getStringList("tokenizer.ggml.tokens").get(1));
            assertEquals(1, gguf.getInt("tokenizer.ggml.bos_token_id"));
            assertTrue(gguf.getBoolean("tokenizer.ggml.add_bos_token"));
            assertTrue(gguf.getString("tokenizer.chat_template").contains("[INST]"));
            assertEquals(32, gguf.alignment());
        }
    }
}
