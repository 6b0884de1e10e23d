package org.mixtralspark.engine.model.gen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.gguf.GgufWriter;
import org.mixtralspark.engine.io.safetensors.SafetensorsWriter;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.RopeScaling;
import org.mixtralspark.engine.model.TensorNames;
import org.mixtralspark.engine.model.TensorNames.Proj;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link Checkpoint} as an HF folder (config.json, safetensors in one or more shards with an index,
 * tokenizer.json, tokenizer_config.json) or as a GGUF file (llama.cpp's names, q/k rows permuted to the interleaved
 * RoPE layout as convert_hf_to_gguf does, experts merged into {@code ffn_*_exps} or in the old per-expert layout).
 *
 * <p>The GGUF writer streams: every tensor (permuted and merged ones too) is a view on the checkpoint's row sources,
 * drawn and encoded into the file a chunk of rows at a time, so a checkpoint of any size is written in bounded memory.
 * The HF writer is in memory (every tensor as a float array while its shard is assembled): test-sized models only.
 */
public final class CheckpointWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointWriter() {
    }

    /**
     * @param dtype  F32, F16 or BF16 for every tensor
     * @param shards how many safetensors files to spread the tensors over (1 = {@code model.safetensors})
     */
    public static void writeHf(Checkpoint ckpt, Path dir, GgmlType dtype, int shards) {
        MixtralConfig c = ckpt.config();
        try {
            Files.createDirectories(dir);
            List<String> names = new ArrayList<>(ckpt.tensors().keySet());
            Map<String, String> weightMap = new LinkedHashMap<>();
            long total = 0;
            for (int s = 0; s < shards; s++) {
                SafetensorsWriter w = new SafetensorsWriter();
                String file = shards == 1 ? "model.safetensors"
                        : String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
                int from = names.size() * s / shards;
                int to = names.size() * (s + 1) / shards;
                for (String n : names.subList(from, to)) {
                    Checkpoint.Tensor t = ckpt.tensors().get(n);
                    w.add(n, dtype, t.shape(), t.data());
                    weightMap.put(n, file);
                }
                total += w.write(dir.resolve(file));
            }
            if (shards > 1) {
                SafetensorsWriter.writeIndex(dir.resolve("model.safetensors.index.json"), weightMap, total);
            }
            ObjectNode cfg = JSON.createObjectNode();
            cfg.putArray("architectures").add(c.isMoe() ? "MixtralForCausalLM" : "MistralForCausalLM");
            cfg.put("model_type", c.isMoe() ? "mixtral" : "mistral");
            cfg.put("vocab_size", c.vocabSize());
            cfg.put("hidden_size", c.dim());
            cfg.put("intermediate_size", c.hiddenDim());
            cfg.put("num_hidden_layers", c.layers());
            cfg.put("num_attention_heads", c.heads());
            cfg.put("num_key_value_heads", c.kvHeads());
            cfg.put("head_dim", c.headDim());
            if (c.isMoe()) {
                cfg.put("num_local_experts", c.experts());
                cfg.put("num_experts_per_tok", c.expertsUsed());
            }
            cfg.put("rope_theta", c.ropeTheta());
            putRopeScaling(cfg, c.ropeScaling());
            cfg.put("rms_norm_eps", c.rmsEps());
            cfg.put("max_position_embeddings", c.contextLength());
            if (c.slidingWindow() > 0) {
                cfg.put("sliding_window", c.slidingWindow());
            } else {
                cfg.putNull("sliding_window");
            }
            cfg.put("tie_word_embeddings", false);
            cfg.put("hidden_act", "silu");
            cfg.put("bos_token_id", 1);
            cfg.put("eos_token_id", 2);
            cfg.put("torch_dtype", dtype == GgmlType.F32 ? "float32" : dtype == GgmlType.F16 ? "float16" : "bfloat16");
            Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
            Files.writeString(dir.resolve("tokenizer.json"), GgufTokenizers.tokenizerJson(ckpt.tokenizer()),
                    StandardCharsets.UTF_8);
            ObjectNode tc = JSON.createObjectNode();
            tc.put("add_bos_token", Boolean.TRUE.equals(ckpt.tokenizer().get("tokenizer.ggml.add_bos_token")));
            tc.put("add_eos_token", false);
            tc.put("bos_token", "<s>");
            tc.put("eos_token", "</s>");
            tc.put("unk_token", "<unk>");
            tc.put("tokenizer_class", "LlamaTokenizer");
            Object template = ckpt.tokenizer().get("tokenizer.chat_template");
            if (template instanceof String s) {
                tc.put("chat_template", s);
            }
            Files.writeString(dir.resolve("tokenizer_config.json"),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tc));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param type         F32, F16, BF16 or Q8_0 for the matrices; norms and the router stay F32 as
     *                     convert_hf_to_gguf keeps them
     * @param splitExperts write the old per-expert layout {@code blk.N.ffn_gate.E.weight} instead of
     *                     {@code blk.N.ffn_gate_exps.weight}
     */
    public static void writeGguf(Checkpoint ckpt, Path file, GgmlType type, boolean splitExperts) {
        MixtralConfig c = ckpt.config();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", ckpt.name());
        w.putUInt32("llama.context_length", c.contextLength());
        w.putUInt32("llama.embedding_length", c.dim());
        w.putUInt32("llama.block_count", c.layers());
        w.putUInt32("llama.feed_forward_length", c.hiddenDim());
        w.putUInt32("llama.attention.head_count", c.heads());
        w.putUInt32("llama.attention.head_count_kv", c.kvHeads());
        w.putUInt32("llama.rope.dimension_count", c.headDim());
        w.putFloat32("llama.rope.freq_base", (float) c.ropeTheta());
        RopeScaling scaling = c.ropeScaling();
        if (scaling.kind() == RopeScaling.Kind.LINEAR) {
            w.putString("llama.rope.scaling.type", "linear");
            w.putFloat32("llama.rope.scaling.factor", (float) scaling.factor());
        } else if (scaling.kind() == RopeScaling.Kind.LLAMA3) {
            // convert_hf_to_gguf writes llama3 as per-frequency divisors (LlamaModel.generate_extra_tensors)
            double[] divisors = scaling.llama3Divisors(c.headDim(), c.ropeTheta());
            float[] f = new float[divisors.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) divisors[i];
            }
            w.addTensor("rope_freqs.weight", GgmlType.F32, new long[] {f.length}, f);
        }
        w.putFloat32("llama.attention.layer_norm_rms_epsilon", c.rmsEps());
        w.putUInt32("llama.vocab_size", c.vocabSize());
        if (c.isMoe()) {
            w.putUInt32("llama.expert_count", c.experts());
            w.putUInt32("llama.expert_used_count", c.expertsUsed());
        }
        w.putUInt32("general.file_type", fileType(type));
        w.putUInt32("general.quantization_version", 2);
        putTokenizer(w, ckpt.tokenizer());

        TensorNames g = TensorNames.GGUF;
        TensorNames h = TensorNames.HF;
        matrix(w, g.embedding(), type, tensor(ckpt, h.embedding()));
        for (int l = 0; l < c.layers(); l++) {
            matrix(w, g.attnNorm(l), GgmlType.F32, tensor(ckpt, h.attnNorm(l)));
            matrix(w, g.wq(l), type, permuted(tensor(ckpt, h.wq(l)), c.heads(), c.headDim()));
            matrix(w, g.wk(l), type, permuted(tensor(ckpt, h.wk(l)), c.kvHeads(), c.headDim()));
            matrix(w, g.wv(l), type, tensor(ckpt, h.wv(l)));
            matrix(w, g.wo(l), type, tensor(ckpt, h.wo(l)));
            matrix(w, g.ffnNorm(l), GgmlType.F32, tensor(ckpt, h.ffnNorm(l)));
            if (!c.isMoe()) {
                for (Proj p : Proj.values()) {
                    matrix(w, g.denseFfn(l, p), type, tensor(ckpt, h.denseFfn(l, p)));
                }
                continue;
            }
            matrix(w, g.router(l), GgmlType.F32, tensor(ckpt, h.router(l)));
            for (Proj p : Proj.values()) {
                if (splitExperts) {
                    for (int e = 0; e < c.experts(); e++) {
                        matrix(w, g.expert(l, e, p), type, tensor(ckpt, h.expert(l, e, p)));
                    }
                } else {
                    Checkpoint.Tensor[] experts = new Checkpoint.Tensor[c.experts()];
                    for (int e = 0; e < c.experts(); e++) {
                        experts[e] = tensor(ckpt, h.expert(l, e, p));
                    }
                    long[] one = experts[0].shape();
                    // (experts, rows, cols): row r of the merged tensor is row r % rows of expert r / rows
                    w.addTensor(g.mergedExperts(l, p), type, new long[] {c.experts(), one[0], one[1]},
                            (row, out) -> experts[(int) (row / one[0])].rows().row(row % one[0], out));
                }
            }
        }
        matrix(w, g.outputNorm(), GgmlType.F32, tensor(ckpt, h.outputNorm()));
        matrix(w, g.lmHead(), type, tensor(ckpt, h.lmHead()));
        w.write(file);
    }

    /** config.json's {@code rope_scaling} as transformers 4 writes it ({@code rope_type} and its parameters). */
    private static void putRopeScaling(ObjectNode cfg, RopeScaling s) {
        switch (s.kind()) {
            case NONE -> cfg.putNull("rope_scaling");
            case LINEAR -> cfg.putObject("rope_scaling").put("rope_type", "linear").put("factor", s.factor());
            case LLAMA3 -> cfg.putObject("rope_scaling").put("rope_type", "llama3").put("factor", s.factor())
                    .put("low_freq_factor", s.lowFreqFactor()).put("high_freq_factor", s.highFreqFactor())
                    .put("original_max_position_embeddings", s.originalContextLength());
            default -> throw new IllegalStateException(s.kind().toString());
        }
    }

    private static void matrix(GgufWriter w, String name, GgmlType type, Checkpoint.Tensor t) {
        w.addTensor(name, type, t.shape(), t.rows());
    }

    /** convert_hf_to_gguf's LlamaModel.permute: row (h, 2j + s) of the result is HF row (h, s * hd/2 + j). */
    static Checkpoint.Tensor permuted(Checkpoint.Tensor t, int heads, int headDim) {
        int half = headDim / 2;
        return new Checkpoint.Tensor(t.shape(), (dst, out) -> {
            long hh = dst / headDim;
            int within = (int) (dst % headDim);
            t.rows().row(hh * headDim + (within % 2) * half + within / 2, out);
        });
    }

    private static Checkpoint.Tensor tensor(Checkpoint ckpt, String name) {
        Checkpoint.Tensor t = ckpt.tensors().get(name);
        if (t == null) {
            throw new IllegalArgumentException("checkpoint " + ckpt.name() + " has no tensor " + name);
        }
        return t;
    }

    @SuppressWarnings("unchecked")
    private static void putTokenizer(GgufWriter w, Map<String, Object> md) {
        for (Map.Entry<String, Object> e : md.entrySet()) {
            String k = e.getKey();
            Object v = e.getValue();
            if (v instanceof String s) {
                w.putString(k, s);
            } else if (v instanceof Boolean b) {
                w.putBool(k, b);
            } else if (v instanceof Long n) {
                w.putUInt32(k, n);
            } else if (v instanceof List<?> list && k.equals("tokenizer.ggml.scores")) {
                float[] f = new float[list.size()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = ((Number) list.get(i)).floatValue();
                }
                w.putFloat32Array(k, f);
            } else if (v instanceof List<?> list && k.equals("tokenizer.ggml.token_type")) {
                int[] ints = new int[list.size()];
                for (int i = 0; i < ints.length; i++) {
                    ints[i] = ((Number) list.get(i)).intValue();
                }
                w.putInt32Array(k, ints);
            } else if (v instanceof List<?> list) {
                w.putStringArray(k, (List<String>) list);
            } else {
                throw new IllegalArgumentException("cannot write tokenizer key " + k + " of type " + v.getClass());
            }
        }
    }

    private static int fileType(GgmlType t) {
        // llama.cpp llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7, MOSTLY_BF16 = 32
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("cannot write weights as " + t + " (F32, F16, BF16, Q8_0)");
        };
    }
}
