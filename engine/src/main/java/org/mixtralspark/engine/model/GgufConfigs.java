package org.mixtralspark.engine.model;

import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Reads GGUF metadata ({@code general.architecture = llama}, llama.cpp's key names) into a {@link MixtralConfig}.
 * A file without {@code llama.expert_count} is a dense model: one expert.
 */
public final class GgufConfigs {

    private GgufConfigs() {
    }

    public static MixtralConfig read(Map<String, Object> md, Path file) {
        String arch = string(md, "general.architecture", file);
        if (!arch.equals("llama")) {
            throw new ModelFormatException(file, "general.architecture = " + arch
                    + ": only 'llama' (Llama, Mistral, Mixtral) is supported");
        }
        int dim = integer(md, "llama.embedding_length", file, null);
        int heads = integer(md, "llama.attention.head_count", file, null);
        int headDim = md.containsKey("llama.rope.dimension_count")
                ? integer(md, "llama.rope.dimension_count", file, null) : MixtralConfig.headDimOf(dim, heads, file,
                "llama.embedding_length", "llama.attention.head_count", "llama.rope.dimension_count");
        RopeScaling ropeScaling = ropeScaling(md, file);
        Integer vocab = md.containsKey("llama.vocab_size") ? integer(md, "llama.vocab_size", file, null) : null;
        if (vocab == null) {
            Object tokens = md.get("tokenizer.ggml.tokens");
            if (!(tokens instanceof List<?> list)) {
                throw new ModelFormatException(file, "neither llama.vocab_size nor tokenizer.ggml.tokens is present");
            }
            vocab = list.size();
        }
        int experts = integer(md, "llama.expert_count", file, 1);
        try {
            return new MixtralConfig(
                    vocab,
                    dim,
                    integer(md, "llama.feed_forward_length", file, null),
                    integer(md, "llama.block_count", file, null),
                    heads,
                    integer(md, "llama.attention.head_count_kv", file, heads),
                    headDim,
                    Math.max(experts, 1),
                    experts <= 1 ? 1 : integer(md, "llama.expert_used_count", file, null),
                    number(md, "llama.rope.freq_base", file, 10000.0),
                    (float) number(md, "llama.attention.layer_norm_rms_epsilon", file, 1e-5),
                    integer(md, "llama.context_length", file, null), 0, ropeScaling);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
    }

    /**
     * llama.cpp's {@code llama.rope.scaling.type}: {@code none} and {@code linear} (with {@code .factor}, or the
     * older {@code llama.rope.scale_linear}) are read; {@code yarn} and {@code longrope} are refused by name. A llama3
     * (Llama 3.1) file has no type: its converter stores the per-frequency divisors as the {@code rope_freqs.weight}
     * tensor, which {@link ModelLoader} adds.
     */
    private static RopeScaling ropeScaling(Map<String, Object> md, Path file) {
        Object type = md.get("llama.rope.scaling.type");
        if (type == null && md.containsKey("llama.rope.scale_linear")) {
            return linear(md, "llama.rope.scale_linear", file);
        }
        if (type == null || "none".equals(type)) {
            return RopeScaling.none();
        }
        if ("linear".equals(type)) {
            return linear(md, "llama.rope.scaling.factor", file);
        }
        Object original = md.get("llama.rope.scaling.original_context_length");
        throw new ModelFormatException(file, "llama.rope.scaling.type = " + type
                + (original != null ? " (llama.rope.scaling.original_context_length = " + original + ")" : "")
                + ": this RoPE scaling is not supported (supported: none, linear, and llama3's rope_freqs.weight)");
    }

    private static RopeScaling linear(Map<String, Object> md, String key, Path file) {
        if (!md.containsKey(key)) {
            throw new ModelFormatException(file, "llama.rope.scaling.type = linear needs metadata key " + key);
        }
        double factor = number(md, key, file, 1.0);
        if (factor == 0) {
            return RopeScaling.none(); // llama.cpp reads a factor of 0 as "no scaling"
        }
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new ModelFormatException(file, "metadata key " + key + " = " + factor + ": must be a positive number");
        }
        return RopeScaling.linear(factor);
    }

    private static String string(Map<String, Object> md, String key, Path file) {
        Object v = md.get(key);
        if (!(v instanceof String s)) {
            throw new ModelFormatException(file, "metadata key " + key + " is missing or not a string: " + v);
        }
        return s;
    }

    private static int integer(Map<String, Object> md, String key, Path file, Integer dflt) {
        Object v = md.get(key);
        if (v == null && dflt != null) {
            return dflt;
        }
        if (!(v instanceof Number n) || v instanceof Float || v instanceof Double) {
            throw new ModelFormatException(file, "metadata key " + key + " is missing or not an integer: " + v);
        }
        long l = n.longValue();
        if (l < 0 || l > Integer.MAX_VALUE) {
            throw new ModelFormatException(file, "metadata key " + key + " = " + l + " is out of range");
        }
        return (int) l;
    }

    private static double number(Map<String, Object> md, String key, Path file, double dflt) {
        Object v = md.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Number n)) {
            throw new ModelFormatException(file, "metadata key " + key + " is not a number: " + v);
        }
        return n.doubleValue();
    }
}
