package org.mixtralspark.engine.model.mixtral;

import org.mixtralspark.engine.tensor.WeightMatrix;
import org.mixtralspark.engine.model.ExpertWeights;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;

/**
 * The Mixtral forward pass written to be read next to DESIGN §2 and llama2.c's {@code forward}: one token of one
 * sequence at a time, single threaded, every sum in double, one method per block. It is the reference the fast
 * batched path ({@code backend.cpu.BatchForward}, whose blocks have the same names) is tested against, block by block
 * for the MoE ({@link #route}, {@link #expert}, {@link #moe}); not a production path.
 */
public final class ReferenceForward {

    private final MixtralWeights w;
    private final MixtralConfig c;
    private final Rope rope;

    public ReferenceForward(MixtralWeights weights) {
        this.w = weights;
        this.c = weights.config();
        this.rope = new Rope(c);
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

    /** One token's query, key and value: (qDim), (kvDim), (kvDim). */
    private record Qkv(float[] q, float[] k, float[] v) {
    }

    /** Feeds {@code token} at the next position of {@code seq}; returns the logits of the token after it, (vocab). */
    public float[] forward(Sequence seq, int token) {
        return forward(seq, token, null);
    }

    /**
     * As {@link #forward(Sequence, int)}, and keeps each layer's routing of the token in {@code routed} (layers),
     * when not null: the reference of the engine's routing statistics.
     */
    public float[] forward(Sequence seq, int token, Routing[] routed) {
        int pos = seq.length;
        float[] x = embedding(token);                            // x = embed_tokens[token], (dim)
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights lw = w.layers()[l];
            // x = x + o_proj(attention(rope(q), rope(k), v)), the projections of rmsnorm(x)
            float[] xb = rmsnorm(x, lw.attnNorm());              // attention rmsnorm, (dim)
            Qkv qkv = qkv(lw, xb);                               // qkv matmuls
            rope(qkv, pos);                                      // RoPE on q and k
            float[] attn = attention(seq, l, qkv, pos);          // k, v into the cache; grouped-query attention, (qDim)
            residual(x, outputProjection(lw, attn));             // output projection, residual back into x
            // x = x + moe(rmsnorm(x))
            xb = rmsnorm(x, lw.ffnNorm());                       // ffn rmsnorm, (dim)
            Routing routing = route(lw, xb);                     // router: top-k experts of the token
            if (routed != null) {
                routed[l] = routing;
            }
            residual(x, moe(lw, xb, routing));                   // MoE FFN, residual back into x
        }
        seq.length = pos + 1;
        return lmHead(rmsnorm(x, w.outputNorm()));               // final rmsnorm, LM head, (vocab)
    }

    /** x = embed_tokens[token], (dim). */
    private float[] embedding(int token) {
        float[] x = new float[c.dim()];
        w.tokenEmbedding().dequantizeRow(token, x, 0);
        return x;
    }

    /** q = W_q xb (qDim), k = W_k xb (kvDim), v = W_v xb (kvDim); xb (dim). */
    private Qkv qkv(LayerWeights lw, float[] xb) {
        return new Qkv(matvec(lw.wq(), xb), matvec(lw.wk(), xb), matvec(lw.wv(), xb));
    }

    /** Rotates every query and key head by the token's position, in place. */
    private void rope(Qkv qkv, int pos) {
        rope.apply(qkv.q(), 0, c.heads(), pos);
        rope.apply(qkv.k(), 0, c.kvHeads(), pos);
    }

    /**
     * Appends k and v to layer {@code l}'s cache at {@code pos}, then grouped-query attention over positions 0..pos
     * (causal): head h reads kv head h / groupSize, softmax(q . k / sqrt(headDim)) . v. Returns (qDim).
     */
    private float[] attention(Sequence seq, int l, Qkv qkv, int pos) {
        float[] q = qkv.q();
        System.arraycopy(qkv.k(), 0, seq.keys[l], pos * c.kvDim(), c.kvDim());
        System.arraycopy(qkv.v(), 0, seq.values[l], pos * c.kvDim(), c.kvDim());
        float[] out = new float[c.qDim()];
        for (int h = 0; h < c.heads(); h++) {
            int kvOff = (h / c.groupSize()) * c.headDim();
            double[] scores = new double[pos + 1];
            double max = Double.NEGATIVE_INFINITY;
            int first = c.firstAttended(pos); // 0, or the sliding window's first position
            for (int t = first; t <= pos; t++) {
                double s = 0;
                for (int i = 0; i < c.headDim(); i++) {
                    s += (double) q[h * c.headDim() + i] * seq.keys[l][t * c.kvDim() + kvOff + i];
                }
                scores[t] = s / Math.sqrt(c.headDim());
                max = Math.max(max, scores[t]);
            }
            double sum = 0;
            for (int t = first; t <= pos; t++) {
                scores[t] = Math.exp(scores[t] - max);
                sum += scores[t];
            }
            for (int i = 0; i < c.headDim(); i++) {
                double acc = 0;
                for (int t = first; t <= pos; t++) {
                    acc += scores[t] / sum * seq.values[l][t * c.kvDim() + kvOff + i];
                }
                out[h * c.headDim() + i] = (float) acc;
            }
        }
        return out;
    }

    /** W_o attn, (dim); attn (qDim). */
    private float[] outputProjection(LayerWeights lw, float[] attn) {
        return matvec(lw.wo(), attn);
    }

    /**
     * MoE FFN (HF {@code MixtralSparseMoeBlock.forward}): route the token, run only its k chosen experts, and sum
     * their outputs weighted by the routing weights, in slot order. A dense layer is the one-expert case.
     *
     * @param xb the normed hidden state, (dim)
     * @return the block's output, (dim)
     */
    public float[] moe(LayerWeights lw, float[] xb) {
        return moe(lw, xb, route(lw, xb));
    }

    /** {@link #moe(LayerWeights, float[])} with the token's routing already decided. */
    private float[] moe(LayerWeights lw, float[] xb, Routing routing) {
        float[] out = new float[c.dim()];
        for (int slot = 0; slot < routing.k(); slot++) {
            float[] y = expert(lw.experts()[routing.expertIds()[slot]], xb);
            float weight = routing.weights()[slot];
            for (int i = 0; i < c.dim(); i++) {
                out[i] += weight * y[i];
            }
        }
        return out;
    }

    /**
     * The router's choice for one token: logits = W_router xb (experts) in fp32 from double sums, then
     * {@link Routing#route} (fp32 softmax, top-k, renormalised). A dense layer (no router) sends it to expert 0.
     *
     * @param xb the normed hidden state, (dim)
     * @return the routing of this one token, (1 * k)
     */
    public Routing route(LayerWeights lw, float[] xb) {
        if (lw.router() == null) {
            return Routing.dense(1);
        }
        float[] logits = new float[c.experts()];
        for (int e = 0; e < c.experts(); e++) {
            double s = 0;
            for (int i = 0; i < c.dim(); i++) {
                s += (double) lw.router()[e * c.dim() + i] * xb[i];
            }
            logits[e] = (float) s;
        }
        return Routing.route(logits, 1, c.experts(), c.expertsUsed());
    }

    /** SwiGLU expert (HF {@code MixtralBlockSparseTop2MLP}): w2(silu(w1 x) * w3 x); x (dim) -> (dim). */
    public static float[] expert(ExpertWeights e, float[] x) {
        float[] gate = matvec(e.gate(), x);
        float[] up = matvec(e.up(), x);
        float[] h = new float[gate.length];
        for (int i = 0; i < h.length; i++) {
            double g = gate[i];
            h[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
        }
        return matvec(e.down(), h);
    }

    /** x += y. */
    private static void residual(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /** LM head on the final normed state: W_lm x, (vocab). */
    private float[] lmHead(float[] x) {
        return matvec(w.lmHead(), x);
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
