package org.mixtralspark.engine.serving;

import java.io.Serializable;
import java.util.Arrays;

/**
 * How many tokens each layer routed to each expert (the expert load of the Mixtral paper's routing analysis, §5):
 * a token counts once per chosen expert, so each layer's counts sum to (tokens computed) x (experts per token).
 * Every token the forward pass computed counts, prompt tokens included; prompt tokens taken from the prefix cache were
 * not computed and do not. Serializable and mergeable, so a Spark job can sum its executors' counts on the driver.
 *
 * @param layers      layers of the model (0 when unavailable)
 * @param experts     experts per layer (0 when unavailable)
 * @param k           experts per token (0 when unavailable)
 * @param tokens      (layer, expert) token counts; empty when unavailable
 * @param unavailable why the backend recorded nothing (e.g. the CUDA backend does not yet); null when recorded
 */
public record RoutingCounts(int layers, int experts, int k, long[][] tokens, String unavailable)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public RoutingCounts {
        if (unavailable == null && (tokens.length != layers || layers <= 0 || experts <= 0 || k <= 0 || k > experts)) {
            throw new IllegalArgumentException("routing counts of " + tokens.length + " layers for " + layers
                    + " layers, " + experts + " experts, " + k + " per token");
        }
        for (long[] row : tokens) {
            if (row.length != experts) {
                throw new IllegalArgumentException("a layer has " + row.length + " expert counts, not " + experts);
            }
        }
    }

    /** An empty table: nothing routed yet. */
    public static RoutingCounts zero(int layers, int experts, int k) {
        return new RoutingCounts(layers, experts, k, new long[layers][experts], null);
    }

    /** No counts, and why. */
    public static RoutingCounts unavailable(String why) {
        return new RoutingCounts(0, 0, 0, new long[0][], why);
    }

    public boolean available() {
        return unavailable == null;
    }

    /** Tokens routed through {@code layer} (the sum of its counts divided by k). */
    public long tokensRouted(int layer) {
        return Arrays.stream(tokens[layer]).sum() / k;
    }

    /**
     * The sum of two tables of the same model (two executors' engines, say). An unavailable side gives an
     * unavailable sum: a partial count would pass for a whole one.
     */
    public RoutingCounts plus(RoutingCounts o) {
        if (!available()) {
            return this;
        }
        if (!o.available()) {
            return o;
        }
        if (layers != o.layers || experts != o.experts || k != o.k) {
            throw new IllegalArgumentException("cannot add routing counts of " + o.layers + "x" + o.experts + " (k "
                    + o.k + ") to " + layers + "x" + experts + " (k " + k + "): different models");
        }
        long[][] sum = new long[layers][experts];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < experts; e++) {
                sum[l][e] = tokens[l][e] + o.tokens[l][e];
            }
        }
        return new RoutingCounts(layers, experts, k, sum, null);
    }

    /** All tokens counted, over every layer and expert (for picking the latest of an engine's snapshots). */
    public long total() {
        long sum = 0;
        for (long[] row : tokens) {
            sum += Arrays.stream(row).sum();
        }
        return sum;
    }

    /** The counts added since {@code earlier}, a snapshot of the same engine. */
    public RoutingCounts minus(RoutingCounts earlier) {
        if (!available() || !earlier.available()) {
            return available() ? earlier : this;
        }
        long[][] d = new long[layers][experts];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < experts; e++) {
                d[l][e] = tokens[l][e] - earlier.tokens[l][e];
                if (d[l][e] < 0) {
                    throw new IllegalArgumentException("routing counts went down: not a later snapshot of the same "
                            + "engine");
                }
            }
        }
        return new RoutingCounts(layers, experts, k, d, null);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingCounts r && layers == r.layers && experts == r.experts && k == r.k
                && Arrays.deepEquals(tokens, r.tokens) && java.util.Objects.equals(unavailable, r.unavailable);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(tokens) * 31 + java.util.Objects.hashCode(unavailable);
    }

    @Override
    public String toString() {
        return available() ? "RoutingCounts[" + layers + "x" + experts + ", k=" + k + ", tokens="
                + Arrays.deepToString(tokens) + "]" : "RoutingCounts[unavailable: " + unavailable + "]";
    }
}
