package org.mixtralspark.engine.sampling;

/**
 * One draw from a categorical distribution given by unnormalised weights, with the randomness passed in as a coin
 * in [0, 1): the inverse-CDF walk of llama2.c's {@code sample_mult} / {@code sample_topp}. Scaling the coin by the
 * kept mass ({@code r = coin * sum(w[kept])}) is the renormalisation after truncation, without a pass that divides
 * every probability.
 */
final class Categorical {

    private Categorical() {
    }

    /**
     * The first candidate {@code c} (in the order given) whose cumulative weight exceeds {@code coin * sum(w)}. A
     * token of weight 0 is never returned (it cannot be the first to exceed r). If rounding leaves r at or above the
     * total, the last candidate of positive weight is returned.
     *
     * @param w    (vocab,) non-negative weights; at least one candidate has w &gt; 0
     * @param ids  the candidates, or null for every token in id order
     * @param coin uniform in [0, 1)
     */
    static int draw(float[] w, int[] ids, double coin) {
        int n = ids == null ? w.length : ids.length;
        double mass = 0;
        for (int i = 0; i < n; i++) {
            mass += w[ids == null ? i : ids[i]];
        }
        double r = coin * mass;
        double cumulative = 0;
        int lastPositive = -1;
        for (int i = 0; i < n; i++) {
            int id = ids == null ? i : ids[i];
            float wi = w[id];
            if (wi > 0) {
                cumulative += wi;
                lastPositive = id;
                if (r < cumulative) {
                    return id;
                }
            }
        }
        if (lastPositive < 0) {
            throw new IllegalStateException("no candidate token has a positive probability");
        }
        return lastPositive; // rounding: r landed on the total
    }
}
