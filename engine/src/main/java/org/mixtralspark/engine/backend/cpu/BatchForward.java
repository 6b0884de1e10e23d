package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.model.mixtral.Rope;
import org.mixtralspark.engine.model.mixtral.Routing;

import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;

/**
 * The production forward pass: one step over a batch of tokens from any number of sequences (prompt chunks and
 * single decode tokens alike), multi-threaded, Vector API kernels. The blocks and their names follow
 * {@link org.mixtralspark.engine.model.mixtral.ReferenceForward}; the difference is the batching: each weight matrix
 * is read once per step for all the batch's tokens, and the MoE block ({@link MoeBlock}) groups the tokens by chosen
 * expert so that each expert runs once, over its tokens, as a small matrix product.
 *
 * <p>Every token's result depends only on its own sequence: a row of a matrix product is computed the same way
 * whatever else is in the batch (batch invariance).
 */
public final class BatchForward {

    private final MixtralWeights w;
    private final MixtralConfig c;
    private final Rope rope;
    private final Matmul matmul;
    private final ThreadTeam team;
    private final PagedKvCache cache;
    private final MoeBlock moe;
    private final ThreadLocal<float[]> scoreScratch = ThreadLocal.withInitial(() -> new float[0]);
    /** One KV head's keys (values) at every position of a sequence, widened from a 16-bit cache, per thread. */
    private final ThreadLocal<float[]> keyScratch = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> valueScratch = ThreadLocal.withInitial(() -> new float[0]);

    // Step buffers, grown to the largest step seen and reused: forward() runs on one thread at a time.
    private static final int X = 0, XB = 1, Q = 2, K = 3, V = 4, ATTN = 5, O = 6, LAST = 7, NORMED = 8, BUFFERS = 9;
    private final float[][] buffers = new float[BUFFERS][0];

    /** Buffer {@code slot} with room for at least {@code n} floats (contents undefined). */
    private float[] buffer(int slot, int n) {
        if (buffers[slot].length < n) {
            buffers[slot] = new float[n];
        }
        return buffers[slot];
    }

    /**
     * @param cache the paged KV cache the step's block tables point into
     */
    public BatchForward(MixtralWeights weights, Matmul matmul, ThreadTeam team, PagedKvCache cache) {
        this.cache = cache;
        this.w = weights;
        this.c = weights.config();
        this.rope = new Rope(c);
        this.matmul = matmul;
        this.team = team;
        this.moe = new MoeBlock(c, matmul, team);
    }

    public MixtralConfig config() {
        return c;
    }

    public PagedKvCache cache() {
        return cache;
    }

    /**
     * The MoE routing of {@code layer} in the latest step (its tokens in batch order), or null before the first step:
     * which experts each token went to, with what weight; {@link Routing#expertCounts()} gives the expert load. Kept
     * until the next step replaces it; reading it costs nothing.
     */
    public Routing routing(int layer) {
        return moe.routing(layer);
    }

    /**
     * Runs one step.
     *
     * @param tokens     token ids, (T)
     * @param positions  each token's position in its sequence, (T); a sequence's tokens in a step are consecutive
     *                   and in order, and its cache already holds every earlier position
     * @param tables     each token's sequence block table, (T); already holding a block for its position
     * @param logitRows  indices into the batch of the tokens whose next-token logits are wanted, in order
     * @return logits, (logitRows.length, vocab) row-major
     */
    public float[] forward(int[] tokens, int[] positions, BlockTable[] tables, int[] logitRows) {
        int n = tokens.length;
        int dim = c.dim();
        int[] rows = new int[n]; // each token's row in the paged cache (small)
        for (int t = 0; t < n; t++) {
            rows[t] = cache.row(tables[t], positions[t]);
        }

        // x = embed_tokens[tokens], (T, dim)
        float[] x = buffer(X, n * dim);
        for (int t = 0; t < n; t++) {
            w.tokenEmbedding().dequantizeRow(tokens[t], x, t * dim);
        }

        float[] xb = buffer(XB, n * dim);
        float[] q = buffer(Q, n * c.qDim());
        float[] k = buffer(K, n * c.kvDim());
        float[] v = buffer(V, n * c.kvDim());
        float[] attn = buffer(ATTN, n * c.qDim());
        float[] o = buffer(O, n * dim);
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights lw = w.layers()[l];

            // attention rmsnorm
            rmsnorm(x, lw.attnNorm(), xb, n);

            // qkv matmuls, (T, qDim) and (T, kvDim)
            matmul.apply(lw.wq(), xb, n, q, team);
            matmul.apply(lw.wk(), xb, n, k, team);
            matmul.apply(lw.wv(), xb, n, v, team);

            // RoPE, then k and v into each token's cache at its position
            for (int t = 0; t < n; t++) {
                rope.apply(q, t * c.qDim(), c.heads(), positions[t]);
                rope.apply(k, t * c.kvDim(), c.kvHeads(), positions[t]);
                cache.write(l, rows[t], k, t * c.kvDim(), v, t * c.kvDim());
            }

            // grouped-query attention over each token's own sequence, causal
            attention(l, q, positions, tables, attn, n);

            // output projection, residual back into x
            matmul.apply(lw.wo(), attn, n, o, team);
            add(x, o, n * dim);

            // ffn rmsnorm, MoE FFN, residual back into x
            rmsnorm(x, lw.ffnNorm(), xb, n);
            add(x, moe.forward(l, lw, xb, n), n * dim);
        }

        // final rmsnorm of the wanted rows, LM head
        int m = logitRows.length;
        float[] last = buffer(LAST, m * dim);
        for (int i = 0; i < m; i++) {
            System.arraycopy(x, logitRows[i] * dim, last, i * dim, dim);
        }
        float[] normed = buffer(NORMED, m * dim);
        rmsnorm(last, w.outputNorm(), normed, m);
        float[] logits = new float[m * c.vocabSize()];
        matmul.apply(w.lmHead(), normed, m, logits, team);
        return logits;
    }

    /**
     * Grouped-query attention of each token over its own sequence's positions 0..pos (causal). With an fp32 cache
     * the keys and values are read in place; with a 16-bit one each position's key and value head is first widened
     * to fp32 (exactly) into a small buffer, and the same dot and axpy kernels run on it, so the only difference
     * between the two is the rounding of what was stored.
     */
    private void attention(int layer, float[] q, int[] positions, BlockTable[] tables, float[] out, int n) {
        if (cache.type() != KvType.F32) {
            attention16(layer, q, positions, tables, out, n);
            return;
        }
        int hd = c.headDim();
        int kvDim = c.kvDim();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int blockSize = cache.blockSize();
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        team.forRange(n * c.heads(), 1, (start, end) -> {
            for (int th = start; th < end; th++) {
                int t = th / c.heads();
                int h = th % c.heads();
                int pos = positions[t];
                BlockTable table = tables[t];
                int kvOff = (h / c.groupSize()) * hd;
                int qOff = t * c.qDim() + h * hd;
                float[] scores = scratch(pos + 1);
                float max = Float.NEGATIVE_INFINITY;
                int first = c.firstAttended(pos); // 0, or the sliding window's first position
                for (int p = first; p <= pos; p++) {
                    int kOff = (table.block(p / blockSize) * blockSize + p % blockSize) * kvDim + kvOff;
                    float s = dot(q, qOff, keys, kOff, hd);
                    scores[p] = s * scale;
                    max = Math.max(max, scores[p]);
                }
                float inv = expInPlace(scores, first, pos, max);
                int oOff = t * c.qDim() + h * hd;
                java.util.Arrays.fill(out, oOff, oOff + hd, 0f);
                for (int p = first; p <= pos; p++) {
                    int vOff = (table.block(p / blockSize) * blockSize + p % blockSize) * kvDim + kvOff;
                    if (VectorSupport.AVAILABLE) {
                        VectorOps.axpy(scores[p] * inv, values, vOff, out, oOff, hd);
                    } else {
                        for (int i = 0; i < hd; i++) {
                            out[oOff + i] += scores[p] * inv * values[vOff + i];
                        }
                    }
                }
            }
        });
    }

    /**
     * {@link #attention} over a 16-bit cache: the same arithmetic, in the same order, on keys and values widened to
     * fp32. Each (sequence, KV head) of the step widens its positions once into a per-thread buffer, which every
     * token of that sequence in the step and every query head of the group then reads (a sequence's tokens are
     * consecutive in a step).
     */
    private void attention16(int layer, float[] q, int[] positions, BlockTable[] tables, float[] out, int n) {
        int hd = c.headDim();
        int kvDim = c.kvDim();
        int kvHeads = c.kvHeads();
        int group = c.groupSize();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int blockSize = cache.blockSize();
        int[] runStart = new int[n + 1]; // the step's sequences as runs of tokens [runStart[r], runStart[r + 1])
        int runs = 0;
        for (int t = 0; t < n; t++) {
            if (t == 0 || tables[t] != tables[t - 1]) {
                runStart[runs++] = t;
            }
        }
        runStart[runs] = n;
        team.forRange(runs * kvHeads, 1, (start, end) -> {
            for (int u = start; u < end; u++) {
                int run = u / kvHeads;
                int g = u % kvHeads;
                int from = runStart[run];
                int to = runStart[run + 1];
                BlockTable table = tables[from];
                int last = positions[to - 1];
                float[] keys = headBuffer(keyScratch, (last + 1) * hd);
                float[] values = headBuffer(valueScratch, (last + 1) * hd);
                for (int p = c.firstAttended(positions[from]); p <= last; p++) {
                    int at = (table.block(p / blockSize) * blockSize + p % blockSize) * kvDim + g * hd;
                    cache.readKeys(layer, at, keys, p * hd, hd);
                    cache.readValues(layer, at, values, p * hd, hd);
                }
                for (int t = from; t < to; t++) {
                    int pos = positions[t];
                    for (int h = g * group; h < (g + 1) * group; h++) {
                        int qOff = t * c.qDim() + h * hd;
                        float[] scores = scratch(pos + 1);
                        float max = Float.NEGATIVE_INFINITY;
                        int first = c.firstAttended(pos);
                        for (int p = first; p <= pos; p++) {
                            float s = dot(q, qOff, keys, p * hd, hd);
                            scores[p] = s * scale;
                            max = Math.max(max, scores[p]);
                        }
                        float inv = expInPlace(scores, first, pos, max);
                        int oOff = t * c.qDim() + h * hd;
                        java.util.Arrays.fill(out, oOff, oOff + hd, 0f);
                        for (int p = first; p <= pos; p++) {
                            if (VectorSupport.AVAILABLE) {
                                VectorOps.axpy(scores[p] * inv, values, p * hd, out, oOff, hd);
                            } else {
                                for (int i = 0; i < hd; i++) {
                                    out[oOff + i] += scores[p] * inv * values[p * hd + i];
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    private static float[] headBuffer(ThreadLocal<float[]> local, int n) {
        float[] b = local.get();
        if (b.length < n) {
            b = new float[Math.max(n, 2 * b.length)];
            local.set(b);
        }
        return b;
    }

    /** out row t = x row t * rsqrt(mean(x_t^2) + eps) * weight, for n rows of dim. */
    private void rmsnorm(float[] x, float[] weight, float[] out, int n) {
        int dim = c.dim();
        for (int t = 0; t < n; t++) {
            int off = t * dim;
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[off + i] * x[off + i];
            }
            float scale = (float) (1.0 / Math.sqrt(ss / dim + c.rmsEps()));
            for (int i = 0; i < dim; i++) {
                out[off + i] = x[off + i] * scale * weight[i];
            }
        }
    }

    private static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    /** {@code a[aOff..aOff+n) . b[bOff..bOff+n)}: the Vector API when the JVM has it, else a plain loop. */
    /**
     * softmax's numerator over {@code scores[first..pos]}, in place ({@code exp(s - max)}, summed in double); returns
     * the reciprocal of the sum, by which each weight is scaled as the values are added up
     */
    private static float expInPlace(float[] scores, int first, int pos, float max) {
        double sum = 0;
        for (int p = first; p <= pos; p++) {
            float e = (float) Math.exp(scores[p] - max);
            scores[p] = e;
            sum += e;
        }
        return (float) (1.0 / sum);
    }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (VectorSupport.AVAILABLE) {
            return VectorMatmul.dot(a, aOff, b, bOff, n);
        }
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    private float[] scratch(int n) {
        float[] s = scoreScratch.get();
        if (s.length < n) {
            s = new float[Math.max(n, 2 * s.length)];
            scoreScratch.set(s);
        }
        return s;
    }
}
