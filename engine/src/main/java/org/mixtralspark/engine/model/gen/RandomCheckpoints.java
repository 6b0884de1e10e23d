package org.mixtralspark.engine.model.gen;

import org.mixtralspark.engine.model.MixtralConfig;

import java.util.LinkedHashMap;
import java.util.SplittableRandom;

/**
 * Random-weight Mixtral checkpoints for tests and demos, drawn like the shared oracle's models (its README §1.1):
 * embeddings N(0,1); norms 1 + 0.1 N; q/k/v with std 1/sqrt(dim), o with 1/sqrt(heads*headDim); router 4/sqrt(dim);
 * w1, w3 1/sqrt(dim), w2 1/sqrt(hidden); LM head rows scaled by exp(0.75 N) times 4/sqrt(dim) N, which gives
 * peaked, well-separated logits. Deterministic in the seed.
 */
public final class RandomCheckpoints {

    private RandomCheckpoints() {
    }

    public static Checkpoint create(String name, MixtralConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        LinkedHashMap<String, Checkpoint.Tensor> t = new LinkedHashMap<>();
        double attn = 1 / Math.sqrt(c.dim());
        t.put("model.embed_tokens.weight", normal(rnd, 1.0, c.vocabSize(), c.dim()));
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", jitter(rnd, c.dim()));
            t.put(p + "self_attn.q_proj.weight", normal(rnd, attn, c.qDim(), c.dim()));
            t.put(p + "self_attn.k_proj.weight", normal(rnd, attn, c.kvDim(), c.dim()));
            t.put(p + "self_attn.v_proj.weight", normal(rnd, attn, c.kvDim(), c.dim()));
            t.put(p + "self_attn.o_proj.weight", normal(rnd, 1 / Math.sqrt(c.qDim()), c.dim(), c.qDim()));
            t.put(p + "post_attention_layernorm.weight", jitter(rnd, c.dim()));
            if (c.isMoe()) {
                t.put(p + "block_sparse_moe.gate.weight", normal(rnd, 4 / Math.sqrt(c.dim()), c.experts(), c.dim()));
                for (int e = 0; e < c.experts(); e++) {
                    String x = p + "block_sparse_moe.experts." + e + ".";
                    t.put(x + "w1.weight", normal(rnd, attn, c.hiddenDim(), c.dim()));
                    t.put(x + "w2.weight", normal(rnd, 1 / Math.sqrt(c.hiddenDim()), c.dim(), c.hiddenDim()));
                    t.put(x + "w3.weight", normal(rnd, attn, c.hiddenDim(), c.dim()));
                }
            } else {
                t.put(p + "mlp.gate_proj.weight", normal(rnd, attn, c.hiddenDim(), c.dim()));
                t.put(p + "mlp.up_proj.weight", normal(rnd, attn, c.hiddenDim(), c.dim()));
                t.put(p + "mlp.down_proj.weight", normal(rnd, 1 / Math.sqrt(c.hiddenDim()), c.dim(), c.hiddenDim()));
            }
        }
        t.put("model.norm.weight", jitter(rnd, c.dim()));
        float[] head = new float[c.vocabSize() * c.dim()];
        for (int r = 0; r < c.vocabSize(); r++) {
            double rowScale = Math.exp(0.75 * rnd.nextGaussian()) * 4 / Math.sqrt(c.dim());
            for (int i = 0; i < c.dim(); i++) {
                head[r * c.dim() + i] = (float) (rnd.nextGaussian() * rowScale);
            }
        }
        t.put("lm_head.weight", new Checkpoint.Tensor(new long[] {c.vocabSize(), c.dim()}, head));
        return new Checkpoint(name, c, t, BuiltinVocab.metadata(c.vocabSize()));
    }

    private static Checkpoint.Tensor normal(SplittableRandom rnd, double std, int rows, int cols) {
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (rnd.nextGaussian() * std);
        }
        return new Checkpoint.Tensor(new long[] {rows, cols}, d);
    }

    private static Checkpoint.Tensor jitter(SplittableRandom rnd, int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        }
        return new Checkpoint.Tensor(new long[] {n}, d);
    }
}
