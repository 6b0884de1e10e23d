package org.mixtralspark.engine.model.mixtral;

import java.util.Arrays;

/**
 * The MoE router's decision for a batch of T tokens: HF {@code MixtralSparseMoeBlock}'s {@code selected_experts} and
 * {@code routing_weights}, vLLM's {@code topk_ids} and {@code topk_weights}. Pair {@code p = t * k + slot} is token
 * {@code t}'s {@code slot}-th choice, slot 0 its best expert. Made by {@link #route} (which is {@link Router#route}
 * on each token) or {@link #dense}; the reference pass and both backends use it, and a step's routing per layer is
 * what an expert-load report reads. The arrays are the record's own: do not change them.
 *
 * @param experts   experts in the layer, E
 * @param k         experts per token
 * @param expertIds (T*k) the chosen expert of each pair; a token's k ids are distinct
 * @param weights   (T*k) fp32 weights, renormalised over the token's k experts to sum to 1
 */
public record Routing(int experts, int k, int[] expertIds, float[] weights) {

    public Routing {
        if (experts <= 0 || k <= 0 || k > experts) {
            throw new IllegalArgumentException("routing to " + k + " of " + experts + " experts");
        }
        if (expertIds.length != weights.length || expertIds.length % k != 0) {
            throw new IllegalArgumentException(expertIds.length + " expert ids and " + weights.length
                    + " weights are not T * k for k = " + k);
        }
        for (int e : expertIds) {
            if (e < 0 || e >= experts) {
                throw new IllegalArgumentException("expert id " + e + " is outside [0, " + experts + ")");
            }
        }
    }

    /**
     * Routes T tokens: for each, {@link Router#route} on its E logits (fp32 softmax, top-k with the lower index
     * winning a tie, renormalised).
     *
     * @param logits router logits, (T, E) row-major
     */
    public static Routing route(float[] logits, int tokens, int experts, int k) {
        int[] ids = new int[tokens * k];
        float[] weights = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            Router.route(logits, t * experts, experts, k, ids, weights, t * k);
        }
        return new Routing(experts, k, ids, weights);
    }

    /** A dense layer (one expert, no router): every token to expert 0 with weight 1, (T*1). */
    public static Routing dense(int tokens) {
        float[] weights = new float[tokens];
        Arrays.fill(weights, 1f);
        return new Routing(1, 1, new int[tokens], weights);
    }

    /** T, the tokens routed. */
    public int tokens() {
        return expertIds.length / k;
    }

    /** The token of pair {@code p}. */
    public int token(int p) {
        return p / k;
    }

    /** The slot of pair {@code p} among its token's k choices (0: the best). */
    public int slot(int p) {
        return p % k;
    }

    /** Tokens routed to each expert, (E); they sum to T*k. */
    public int[] expertCounts() {
        int[] count = new int[experts];
        for (int e : expertIds) {
            count[e]++;
        }
        return count;
    }

    /**
     * The pairs grouped by expert (vLLM's dispatch): each expert's (token, slot) pairs in token order, expert after
     * expert. A counting sort, stable, so the order is deterministic.
     */
    public Groups groups() {
        int[] start = new int[experts + 1];
        for (int e : expertIds) {
            start[e + 1]++;
        }
        for (int e = 0; e < experts; e++) {
            start[e + 1] += start[e];
        }
        int[] fill = Arrays.copyOf(start, experts);
        int[] pairs = new int[expertIds.length];
        for (int p = 0; p < expertIds.length; p++) {
            pairs[fill[expertIds[p]]++] = p;
        }
        return new Groups(start, pairs);
    }

    /**
     * The pairs of a {@link Routing} grouped by expert, in one array (the layout of CSR, and of the CUDA
     * {@code moe_group} kernel's {@code sorted_pair}): expert {@code e}'s pairs are {@code pairs[start[e] ..
     * start[e + 1])}, in token order; grouped row {@code r} is pair {@code pairs[r]}.
     *
     * @param start (E + 1) the first grouped row of each expert; {@code start[E] = T*k}
     * @param pairs (T*k) pair indices {@code t * k + slot} in grouped order
     */
    public record Groups(int[] start, int[] pairs) {

        public int experts() {
            return start.length - 1;
        }

        /** Pairs routed to expert {@code e}. */
        public int count(int e) {
            return start[e + 1] - start[e];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Groups g && Arrays.equals(start, g.start) && Arrays.equals(pairs, g.pairs);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(start) + Arrays.hashCode(pairs);
        }

        @Override
        public String toString() {
            return "Groups[start=" + Arrays.toString(start) + ", pairs=" + Arrays.toString(pairs) + "]";
        }
    }

    /** Equal when the same experts got the same weights, bit for bit. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Routing r && experts == r.experts && k == r.k && Arrays.equals(expertIds, r.expertIds)
                && Arrays.equals(weights, r.weights);
    }

    @Override
    public int hashCode() {
        return (31 * (31 * experts + k) + Arrays.hashCode(expertIds)) * 31 + Arrays.hashCode(weights);
    }

    @Override
    public String toString() {
        return "Routing[experts=" + experts + ", k=" + k + ", expertIds=" + Arrays.toString(expertIds) + ", weights="
                + Arrays.toString(weights) + "]";
    }
}
