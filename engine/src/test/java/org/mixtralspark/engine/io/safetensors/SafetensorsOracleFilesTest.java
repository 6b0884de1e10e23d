package org.mixtralspark.engine.io.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.ModelFiles;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HF folders shipped with the oracle open with the tensors of their index and config, and hold the same weights
 * as the GGUF files made from them (oracle README §1.2-1.3). Only tensors the GGUF converter does not permute are
 * compared here (q/k rows are permuted in GGUF; undoing that is the model loader's job).
 */
class SafetensorsOracleFilesTest {

    @Test
    void shardedFolderHasTheTensorsOfItsIndex() {
        Path folder = Oracle.model("kquant-hf");
        assertTrue(SafetensorsCheckpoint.isCheckpointFolder(folder));
        JsonNode weightMap = Oracle.readJson(folder.resolve(SafetensorsCheckpoint.INDEX_FILE)).get("weight_map");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder)) {
            assertEquals(2, ckpt.files().size());
            Set<String> expected = new TreeSet<>();
            weightMap.fieldNames().forEachRemaining(expected::add);
            assertEquals(expected, new TreeSet<>(ckpt.tensors().keySet()));
            for (TensorInfo t : ckpt.tensors().values()) {
                assertEquals(weightMap.get(t.name()).asText(), t.file().getFileName().toString(), t.name());
                assertEquals(GgmlType.F32, t.type(), t.name());
            }
            checkShapes(ckpt, Oracle.readJson(folder.resolve("config.json")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mini-mistral-hf", "kquant-hf-bf16"})
    void singleFileFoldersHaveTheShapesOfTheirConfig(String name) {
        Path folder = Oracle.model(name);
        try (TensorSource src = ModelFiles.open(folder)) {
            assertInstanceOf(SafetensorsCheckpoint.class, src);
            checkShapes(src, Oracle.readJson(folder.resolve("config.json")));
            GgmlType type = name.endsWith("bf16") ? GgmlType.BF16 : GgmlType.F32;
            src.tensors().values().forEach(t -> assertEquals(type, t.type(), t.name()));
        }
    }

    /** HF F32 bytes (row-major) equal GGUF F32 bytes (ne[0] fastest) for tensors the converter leaves unpermuted. */
    @Test
    void miniMistralHfEqualsItsF32Gguf() {
        try (TensorSource hf = ModelFiles.open(Oracle.model("mini-mistral-hf"));
             TensorSource gguf = ModelFiles.open(Oracle.model("mini-mistral-f32.gguf"))) {
            assertInstanceOf(GgufFile.class, gguf);
            assertEquals(bytes(gguf, "output.weight"), bytes(hf, "lm_head.weight"));
            assertEquals(bytes(gguf, "token_embd.weight"), bytes(hf, "model.embed_tokens.weight"));
            assertEquals(bytes(gguf, "blk.1.ffn_gate_inp.weight"), bytes(hf, "model.layers.1.block_sparse_moe.gate.weight"));
            assertEquals(bytes(gguf, "blk.0.attn_v.weight"), bytes(hf, "model.layers.0.self_attn.v_proj.weight"));
            // ffn_down_exps [E, H, I] is the experts' w2 [H, I] stacked.
            assertEquals(bytes(gguf, "blk.1.ffn_down_exps.weight"), concat(hf, "model.layers.1.block_sparse_moe.experts.%d.w2.weight"));
        }
    }

    /** The kquant-f32 GGUF is not shipped, but its dequant checksums are, and they apply to kquant-hf (README §1). */
    @Test
    void kquantHfMatchesTheF32Checksums() throws Exception {
        JsonNode ref = Oracle.dequantReference("kquant-f32");
        try (TensorSource hf = ModelFiles.open(Oracle.model("kquant-hf"))) {
            assertEquals(sha(ref, "output.weight"), sha256(bytes(hf, "lm_head.weight")));
            assertEquals(sha(ref, "output_norm.weight"), sha256(bytes(hf, "model.norm.weight")));
            assertEquals(sha(ref, "blk.2.ffn_norm.weight"), sha256(bytes(hf, "model.layers.2.post_attention_layernorm.weight")));
            // Layer 1 straddles the two shards.
            assertEquals(sha(ref, "blk.1.ffn_gate_exps.weight"),
                    sha256(concat(hf, "model.layers.1.block_sparse_moe.experts.%d.w1.weight")));
            assertEquals(sha(ref, "blk.1.ffn_up_exps.weight"),
                    sha256(concat(hf, "model.layers.1.block_sparse_moe.experts.%d.w3.weight")));
        }
    }

    /** Both BF16 files were rounded to nearest-even from the same F32 weights; matrices agree bit for bit. */
    @Test
    void kquantHfBf16EqualsTheBf16Gguf() {
        try (TensorSource hf = ModelFiles.open(Oracle.model("kquant-hf-bf16"));
             TensorSource gguf = ModelFiles.open(Oracle.model("kquant-bf16.gguf"))) {
            assertEquals(bytes(gguf, "token_embd.weight"), bytes(hf, "model.embed_tokens.weight"));
            assertEquals(bytes(gguf, "blk.2.attn_output.weight"), bytes(hf, "model.layers.2.self_attn.o_proj.weight"));
        }
    }

    /**
     * The same without the BF16 GGUF: the float32 checksums of its matrices ({@code references/dequant/kquant-bf16})
     * are those of the HF folder's bf16 matrices, upcast. Norms and the router are F32 in the GGUF and bf16 in the HF
     * folder (README §1.2), and q/k are permuted in the GGUF: those are not compared.
     */
    @Test
    void kquantHfBf16MatchesTheBf16GgufsChecksums() throws Exception {
        JsonNode ref = Oracle.dequantReference("kquant-bf16");
        try (TensorSource hf = ModelFiles.open(Oracle.model("kquant-hf-bf16"))) {
            assertEquals(sha(ref, "token_embd.weight"), sha256(upcastBf16(bytes(hf, "model.embed_tokens.weight"))));
            assertEquals(sha(ref, "output.weight"), sha256(upcastBf16(bytes(hf, "lm_head.weight"))));
            for (int l = 0; l < 3; l++) {
                String p = "model.layers." + l + ".";
                String b = "blk." + l + ".";
                assertEquals(sha(ref, b + "attn_v.weight"), sha256(upcastBf16(bytes(hf, p + "self_attn.v_proj.weight"))), b);
                assertEquals(sha(ref, b + "attn_output.weight"), sha256(upcastBf16(bytes(hf, p + "self_attn.o_proj.weight"))), b);
                assertEquals(sha(ref, b + "ffn_gate_exps.weight"),
                        sha256(upcastBf16(concat(hf, p + "block_sparse_moe.experts.%d.w1.weight"))), b);
                assertEquals(sha(ref, b + "ffn_down_exps.weight"),
                        sha256(upcastBf16(concat(hf, p + "block_sparse_moe.experts.%d.w2.weight"))), b);
                assertEquals(sha(ref, b + "ffn_up_exps.weight"),
                        sha256(upcastBf16(concat(hf, p + "block_sparse_moe.experts.%d.w3.weight"))), b);
            }
        }
    }

    /** bf16 little-endian -> the float32 little-endian bytes of the same values (the top 16 bits). */
    private static ByteBuffer upcastBf16(ByteBuffer bf16) {
        ByteBuffer in = bf16.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(2 * in.remaining()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        while (in.remaining() >= 2) {
            out.putInt((in.getShort() & 0xFFFF) << 16);
        }
        return out.flip();
    }

    private static void checkShapes(TensorSource src, JsonNode config) {
        long h = config.get("hidden_size").asLong();
        long i = config.get("intermediate_size").asLong();
        long v = config.get("vocab_size").asLong();
        long heads = config.get("num_attention_heads").asLong();
        long kv = config.get("num_key_value_heads").asLong();
        long hd = config.has("head_dim") ? config.get("head_dim").asLong() : h / heads;
        long e = config.get("num_local_experts").asLong();
        int layers = config.get("num_hidden_layers").asInt();
        List<String> names = new ArrayList<>();
        assertShape(src, names, "model.embed_tokens.weight", v, h);
        assertShape(src, names, "lm_head.weight", v, h);
        assertShape(src, names, "model.norm.weight", h);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            assertShape(src, names, p + "input_layernorm.weight", h);
            assertShape(src, names, p + "post_attention_layernorm.weight", h);
            assertShape(src, names, p + "self_attn.q_proj.weight", heads * hd, h);
            assertShape(src, names, p + "self_attn.k_proj.weight", kv * hd, h);
            assertShape(src, names, p + "self_attn.v_proj.weight", kv * hd, h);
            assertShape(src, names, p + "self_attn.o_proj.weight", h, heads * hd);
            assertShape(src, names, p + "block_sparse_moe.gate.weight", e, h);
            for (int x = 0; x < e; x++) {
                String q = p + "block_sparse_moe.experts." + x + ".";
                assertShape(src, names, q + "w1.weight", i, h);
                assertShape(src, names, q + "w2.weight", h, i);
                assertShape(src, names, q + "w3.weight", i, h);
            }
        }
        assertEquals(new TreeSet<>(names), new TreeSet<>(src.tensors().keySet()), "tensor names of " + src.path());
    }

    private static void assertShape(TensorSource src, List<String> names, String name, long... shape) {
        TensorInfo t = src.tensors().get(name);
        assertTrue(t != null, src.path() + " lacks " + name);
        assertArrayEquals(shape, t.shape(), name);
        names.add(name);
    }

    private static ByteBuffer bytes(TensorSource src, String name) {
        TensorInfo t = src.tensors().get(name);
        assertTrue(t != null, src.path() + " lacks " + name);
        return src.bytes(t);
    }

    private static ByteBuffer concat(TensorSource src, String pattern) {
        List<ByteBuffer> parts = new ArrayList<>();
        int total = 0;
        for (int e = 0; src.tensors().containsKey(String.format(pattern, e)); e++) {
            parts.add(bytes(src, String.format(pattern, e)));
            total += parts.get(e).remaining();
        }
        ByteBuffer all = ByteBuffer.allocate(total);
        parts.forEach(all::put);
        return all.flip();
    }

    private static String sha(JsonNode ref, String name) {
        for (JsonNode t : ref.get("tensors")) {
            if (t.get("name").asText().equals(name)) {
                return t.get("sha256_f32le").asText();
            }
        }
        throw new AssertionError("no " + name + " in the reference");
    }

    private static String sha256(ByteBuffer b) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(b.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }
}
