package org.mixtralspark.engine.model.gen;

import org.mixtralspark.engine.model.MixtralConfig;

import java.util.LinkedHashMap;
import java.util.SplittableRandom;

/**
 * Random-weight Mixtral checkpoints for tests, demos and benchmarks, drawn like the shared oracle's models (its README
 * §1.1): embeddings N(0,1); norms 1 + 0.1 N; q/k/v with std 1/sqrt(dim), o with 1/sqrt(heads*headDim); router
 * 4/sqrt(dim); w1, w3 1/sqrt(dim), w2 1/sqrt(hidden); LM head rows scaled by exp(0.75 N) times 4/sqrt(dim) N, which
 * gives peaked, well-separated logits.
 *
 * <p>Nothing is drawn here: each tensor is a source whose row r comes from its own generator, seeded from (seed,
 * tensor name, r). So the values are deterministic in the seed whatever order or threads draw them, and an
 * 8x7B-shaped checkpoint is streamed into a file in bounded memory ({@link CheckpointWriter#writeGguf}).
 */
public final class RandomCheckpoints {

    private RandomCheckpoints() {
    }

    public static Checkpoint create(String name, MixtralConfig c, long seed) {
        LinkedHashMap<String, Checkpoint.Tensor> t = new LinkedHashMap<>();
        double attn = 1 / Math.sqrt(c.dim());
        put(t, seed, "model.embed_tokens.weight", normal(1.0), c.vocabSize(), c.dim());
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            put(t, seed, p + "input_layernorm.weight", JITTER, c.dim());
            put(t, seed, p + "self_attn.q_proj.weight", normal(attn), c.qDim(), c.dim());
            put(t, seed, p + "self_attn.k_proj.weight", normal(attn), c.kvDim(), c.dim());
            put(t, seed, p + "self_attn.v_proj.weight", normal(attn), c.kvDim(), c.dim());
            put(t, seed, p + "self_attn.o_proj.weight", normal(1 / Math.sqrt(c.qDim())), c.dim(), c.qDim());
            put(t, seed, p + "post_attention_layernorm.weight", JITTER, c.dim());
            if (c.isMoe()) {
                put(t, seed, p + "block_sparse_moe.gate.weight", normal(4 / Math.sqrt(c.dim())), c.experts(), c.dim());
                for (int e = 0; e < c.experts(); e++) {
                    String x = p + "block_sparse_moe.experts." + e + ".";
                    put(t, seed, x + "w1.weight", normal(attn), c.hiddenDim(), c.dim());
                    put(t, seed, x + "w2.weight", normal(1 / Math.sqrt(c.hiddenDim())), c.dim(), c.hiddenDim());
                    put(t, seed, x + "w3.weight", normal(attn), c.hiddenDim(), c.dim());
                }
            } else {
                put(t, seed, p + "mlp.gate_proj.weight", normal(attn), c.hiddenDim(), c.dim());
                put(t, seed, p + "mlp.up_proj.weight", normal(attn), c.hiddenDim(), c.dim());
                put(t, seed, p + "mlp.down_proj.weight", normal(1 / Math.sqrt(c.hiddenDim())), c.dim(), c.hiddenDim());
            }
        }
        put(t, seed, "model.norm.weight", JITTER, c.dim());
        double head = 4 / Math.sqrt(c.dim());
        put(t, seed, "lm_head.weight", (rnd, out) -> {
            double rowScale = Math.exp(0.75 * rnd.nextGaussian()) * head;
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (rnd.nextGaussian() * rowScale);
            }
        }, c.vocabSize(), c.dim());
        return new Checkpoint(name, c, t, BuiltinVocab.metadata(c.vocabSize()));
    }

    /** How one row is drawn from its generator. */
    @FunctionalInterface
    private interface RowDraw {
        void draw(SplittableRandom rnd, float[] out);
    }

    private static final RowDraw JITTER = (rnd, out) -> {
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        }
    };

    private static RowDraw normal(double std) {
        return (rnd, out) -> {
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (rnd.nextGaussian() * std);
            }
        };
    }

    /** A tensor of shape (rows, cols), or (cols) for a vector, whose row r is drawn from seed (seed, name, r). */
    private static void put(LinkedHashMap<String, Checkpoint.Tensor> t, long seed, String name, RowDraw draw,
                            long... shape) {
        long tensorSeed = mix64(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        t.put(name, new Checkpoint.Tensor(shape,
                (row, out) -> draw.draw(new SplittableRandom(mix64(tensorSeed ^ mix64(row + 1))), out)));
    }

    /** Stafford's variant 13 of MurmurHash3's finaliser (what SplittableRandom mixes with). */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
