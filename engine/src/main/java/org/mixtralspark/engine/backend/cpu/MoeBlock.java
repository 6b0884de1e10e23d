package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.model.ExpertWeights;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.mixtral.Routing;

import java.util.Arrays;

/**
 * The MoE FFN of one layer over a step's batch (DESIGN §2 and §5 "MoE grouped execution"; vLLM's {@code MixtralMoE},
 * in the stages of its {@code modular_kernel}), P = T*k (token, slot) pairs:
 * <pre>
 *   route     xb (T, dim) -> router logits (T, E) fp32 -> Routing: expert ids (P), renormalised weights (P)
 *   group     Routing -> each expert's pairs, in token order (P, grouped)
 *   experts   each chosen expert once over its group: y = w2(silu(w1 x) * w3 x), (P, dim) in grouped order
 *   combine   out[t] = sum over t's experts, in expert index order, of weight * y, (T, dim)
 * </pre>
 * A dense FFN is the one-expert case: no router, every token to expert 0 with weight 1.
 *
 * <p>Batch invariance: a token's rows of the matrix products are computed the same way whatever else is in its
 * expert's group, and combine adds a token's k terms in expert index order, so its output does not depend on the rest
 * of the batch.
 *
 * <p>Owned by one {@link BatchForward} and, like it, run by one thread at a time: the scratch buffers are grown to the
 * largest step seen and reused. Per layer and step it allocates only the {@link Routing} and its {@link Routing.Groups}
 * (arrays of P and E + 1 ints and floats), nothing per token; the step's routing of each layer is kept
 * ({@link #routing}) for an expert-load report.
 */
final class MoeBlock {

    private final MixtralConfig c;
    private final Matmul matmul;
    private final ThreadTeam team;
    private final Routing[] routings; // per layer: the latest step's

    // Step buffers, grown and reused; contents undefined between calls.
    private static final int LOGITS = 0, XE = 1, GATE = 2, UP = 3, YE = 4, Y = 5, OUT = 6, BUFFERS = 7;
    private final float[][] buffers = new float[BUFFERS][0];

    MoeBlock(MixtralConfig c, Matmul matmul, ThreadTeam team) {
        this.c = c;
        this.matmul = matmul;
        this.team = team;
        this.routings = new Routing[c.layers()];
    }

    /** The routing of {@code layer} in the latest step, or null before the first. */
    Routing routing(int layer) {
        return routings[layer];
    }

    /**
     * The block on layer {@code layer}'s normed hidden states; keeps the step's routing.
     *
     * @param xb normed hidden states, (T, dim)
     * @return the block's output, (T, dim); a buffer of this block, valid until its next call
     */
    float[] forward(int layer, LayerWeights lw, float[] xb, int n) {
        Routing routing = route(lw, xb, n);
        routings[layer] = routing;
        Routing.Groups groups = group(routing);
        float[] y = experts(lw, xb, routing, groups);
        return combine(routing, groups, y, n);
    }

    /**
     * route: router logits (T, E) = xb (T, dim) . router (E, dim)^T in fp32, then {@link Routing#route} (fp32
     * softmax, top-k with the lower index winning a tie, renormalised). A dense layer routes every token to expert 0.
     *
     * @param xb normed hidden states, (T, dim)
     * @return (T*k) expert ids and weights
     */
    Routing route(LayerWeights lw, float[] xb, int n) {
        if (lw.router() == null) {
            return Routing.dense(n);
        }
        int experts = c.experts();
        int dim = c.dim();
        float[] logits = buffer(LOGITS, n * experts);
        for (int t = 0; t < n; t++) {
            for (int e = 0; e < experts; e++) {
                logits[t * experts + e] = BatchForward.dot(lw.router(), e * dim, xb, t * dim, dim);
            }
        }
        return Routing.route(logits, n, experts, c.expertsUsed());
    }

    /** group: (P) pairs -> each expert's pairs in token order, (E + 1) group starts and (P) pairs. */
    Routing.Groups group(Routing routing) {
        return routing.groups();
    }

    /**
     * experts: each expert with a non-empty group runs once over it, xe (g, dim) gathered from xb -> y rows
     * {@code start[e] .. start[e] + g} of (P, dim).
     *
     * @param xb normed hidden states, (T, dim)
     * @return the experts' outputs, (P, dim) in grouped order (row r is pair {@code groups.pairs()[r]}); a buffer of
     *         this block, valid until its next call
     */
    float[] experts(LayerWeights lw, float[] xb, Routing routing, Routing.Groups groups) {
        int dim = c.dim();
        int[] pairs = groups.pairs();
        float[] y = buffer(Y, pairs.length * dim);
        for (int e = 0; e < groups.experts(); e++) {
            int g = groups.count(e);
            if (g == 0) {
                continue;
            }
            int first = groups.start()[e];
            float[] xe = buffer(XE, g * dim);
            for (int j = 0; j < g; j++) {
                System.arraycopy(xb, routing.token(pairs[first + j]) * dim, xe, j * dim, dim);
            }
            float[] ye = swiglu(lw.experts()[e], xe, g);
            System.arraycopy(ye, 0, y, first * dim, g * dim);
        }
        return y;
    }

    /**
     * One expert's SwiGLU over its group: h = silu(w1 xe) * (w3 xe), (g, hiddenDim); w2 h, (g, dim). Three small
     * matrix products, each weight read once for the whole group.
     *
     * @param xe the group's inputs, (g, dim)
     * @return (g, dim), a buffer of this block
     */
    private float[] swiglu(ExpertWeights ew, float[] xe, int g) {
        float[] gate = buffer(GATE, g * c.hiddenDim());
        float[] up = buffer(UP, g * c.hiddenDim());
        matmul.apply(ew.gate(), xe, g, gate, team);
        matmul.apply(ew.up(), xe, g, up, team);
        for (int i = 0, len = g * c.hiddenDim(); i < len; i++) {
            float a = gate[i];
            gate[i] = (float) (a / (1.0 + Math.exp(-a))) * up[i];
        }
        float[] ye = buffer(YE, g * c.dim());
        matmul.apply(ew.down(), gate, g, ye, team);
        return ye;
    }

    /**
     * combine: out[t] = sum of weight * y over t's pairs, scatter-added expert after expert in index order and within
     * an expert in token order, so each token's terms are summed in expert index order (as the CUDA moe_combine).
     *
     * @param y the experts' outputs, (P, dim) in grouped order
     * @return (T, dim), a buffer of this block, valid until its next call
     */
    float[] combine(Routing routing, Routing.Groups groups, float[] y, int n) {
        int dim = c.dim();
        int[] pairs = groups.pairs();
        float[] weights = routing.weights();
        float[] out = buffer(OUT, n * dim);
        Arrays.fill(out, 0, n * dim, 0f);
        for (int r = 0; r < pairs.length; r++) { // grouped order: expert by expert, tokens in order
            int t = routing.token(pairs[r]);
            float wgt = weights[pairs[r]];
            for (int i = 0; i < dim; i++) {
                out[t * dim + i] += wgt * y[r * dim + i];
            }
        }
        return out;
    }

    /** Buffer {@code slot} with room for at least {@code n} floats (contents undefined). */
    private float[] buffer(int slot, int n) {
        if (buffers[slot].length < n) {
            buffers[slot] = new float[n];
        }
        return buffers[slot];
    }
}
