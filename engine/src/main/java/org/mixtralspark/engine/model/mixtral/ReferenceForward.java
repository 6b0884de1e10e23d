package org.mixtralspark.engine.model.mixtral;

import org.mixtralspark.engine.tensor.WeightMatrix;
import org.mixtralspark.engine.model.ExpertWeights;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;

/**
 * The Mixtral forward pass written to be read next to DESIGN §2, one token of one sequence at a time, single
 * threaded, every sum in double. It is the reference the fast batched path ({@link BatchForward}) is tested against,
 * not a production path.
 */
public final class ReferenceForward {

    private final MixtralWeights w;
    private final MixtralConfig c;
    private final Rope rope;

    public ReferenceForward(MixtralWeights weights) {
        this.w = weights;
        this.c = weights.config();
        this.rope = new Rope(c.headDim(), c.ropeTheta());
    }

    /** The KV cache of one sequence: keys and values of every position so far, per layer. */
    public static final class Sequence {
        final float[][] keys;   // (layer, pos * kvDim)
        final float[][] values; // (layer, pos * kvDim)
        int length;

        public Sequence(MixtralConfig c, int capacity) {
            keys = new float[c.layers()][capacity * c.kvDim()];
            values = new float[c.layers()][capacity * c.kvDim()];
        }

        public int length() {
            return length;
        }
    }

    /** Feeds {@code token} at the next position of {@code seq} and returns the logits of the token after it, (vocab). */
    public float[] forward(Sequence seq, int token) {
        int pos = seq.length;
        float[] x = new float[c.dim()];
        w.tokenEmbedding().dequantizeRow(token, x, 0);                   // x = embed_tokens[token]

        for (int l = 0; l < c.layers(); l++) {
            LayerWeights lw = w.layers()[l];

            // attention rmsnorm
            float[] xb = rmsnorm(x, lw.attnNorm());

            // qkv matmuls: q = W_q xb (qDim), k = W_k xb (kvDim), v = W_v xb (kvDim)
            float[] q = matvec(lw.wq(), xb);
            float[] k = matvec(lw.wk(), xb);
            float[] v = matvec(lw.wv(), xb);

            // RoPE on q and k
            rope.apply(q, 0, c.heads(), pos);
            rope.apply(k, 0, c.kvHeads(), pos);

            // append k, v to the cache at pos
            System.arraycopy(k, 0, seq.keys[l], pos * c.kvDim(), c.kvDim());
            System.arraycopy(v, 0, seq.values[l], pos * c.kvDim(), c.kvDim());

            // grouped-query attention: head h reads kv head h / groupSize; softmax(q.k / sqrt(headDim)) . v
            float[] attnOut = new float[c.qDim()];
            for (int h = 0; h < c.heads(); h++) {
                int kvOff = (h / c.groupSize()) * c.headDim();
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    double s = 0;
                    for (int i = 0; i < c.headDim(); i++) {
                        s += (double) q[h * c.headDim() + i] * seq.keys[l][t * c.kvDim() + kvOff + i];
                    }
                    scores[t] = s / Math.sqrt(c.headDim());
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int i = 0; i < c.headDim(); i++) {
                    double acc = 0;
                    for (int t = 0; t <= pos; t++) {
                        acc += scores[t] / sum * seq.values[l][t * c.kvDim() + kvOff + i];
                    }
                    attnOut[h * c.headDim() + i] = (float) acc;
                }
            }

            // output projection, residual back into x
            float[] o = matvec(lw.wo(), attnOut);
            for (int i = 0; i < c.dim(); i++) {
                x[i] += o[i];
            }

            // ffn rmsnorm
            xb = rmsnorm(x, lw.ffnNorm());

            // MoE FFN: route, run the chosen experts, sum their outputs weighted by the routing weights
            float[] moe = new float[c.dim()];
            int[] chosen = new int[c.expertsUsed()];
            float[] weights = new float[c.expertsUsed()];
            if (lw.router() == null) {
                chosen[0] = 0;
                weights[0] = 1f;
            } else {
                float[] routerLogits = new float[c.experts()];
                for (int e = 0; e < c.experts(); e++) {
                    double s = 0;
                    for (int i = 0; i < c.dim(); i++) {
                        s += (double) lw.router()[e * c.dim() + i] * xb[i];
                    }
                    routerLogits[e] = (float) s;
                }
                Router.route(routerLogits, 0, c.experts(), c.expertsUsed(), chosen, weights, 0);
            }
            for (int j = 0; j < chosen.length; j++) {
                float[] y = expert(lw.experts()[chosen[j]], xb);
                for (int i = 0; i < c.dim(); i++) {
                    moe[i] += weights[j] * y[i];
                }
            }

            // residual back into x
            for (int i = 0; i < c.dim(); i++) {
                x[i] += moe[i];
            }
        }

        // final rmsnorm, LM head
        x = rmsnorm(x, w.outputNorm());
        seq.length = pos + 1;
        return matvec(w.lmHead(), x);
    }

    /** SwiGLU expert: w2(silu(w1 x) * w3 x). */
    private float[] expert(ExpertWeights e, float[] x) {
        float[] gate = matvec(e.gate(), x);
        float[] up = matvec(e.up(), x);
        float[] h = new float[gate.length];
        for (int i = 0; i < h.length; i++) {
            double g = gate[i];
            h[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
        }
        return matvec(e.down(), h);
    }

    /** x * rsqrt(mean(x^2) + eps) * weight. */
    private float[] rmsnorm(float[] x, float[] weight) {
        double ss = 0;
        for (float v : x) {
            ss += (double) v * v;
        }
        double scale = 1.0 / Math.sqrt(ss / x.length + c.rmsEps());
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] * scale * weight[i]);
        }
        return out;
    }

    /** W (rows, cols) @ x (cols) -> (rows), sums in double. */
    static float[] matvec(WeightMatrix m, float[] x) {
        float[] row = new float[m.cols()];
        float[] out = new float[m.rows()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            double s = 0;
            for (int i = 0; i < row.length; i++) {
                s += (double) row[i] * x[i];
            }
            out[r] = (float) s;
        }
        return out;
    }
}
