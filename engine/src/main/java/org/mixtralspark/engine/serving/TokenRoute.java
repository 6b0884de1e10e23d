package org.mixtralspark.engine.serving;

import java.util.Arrays;

/**
 * Where one computed token of one request went in one layer (the per-token view of the Mixtral paper's Figure 8):
 * its chosen experts, best first, and their renormalised routing weights.
 *
 * @param requestId the request's id
 * @param position  the token's position in its sequence (prompt tokens first, then generated ones)
 * @param tokenId   the token
 * @param layer     the layer
 * @param experts   (k) the chosen experts, best first
 * @param weights   (k) their weights, summing to 1
 */
public record TokenRoute(String requestId, int position, int tokenId, int layer, int[] experts, float[] weights) {

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenRoute t && requestId.equals(t.requestId) && position == t.position
                && tokenId == t.tokenId && layer == t.layer && Arrays.equals(experts, t.experts)
                && Arrays.equals(weights, t.weights);
    }

    @Override
    public int hashCode() {
        return ((requestId.hashCode() * 31 + position) * 31 + layer) * 31 + Arrays.hashCode(experts);
    }

    @Override
    public String toString() {
        return "TokenRoute[" + requestId + "@" + position + " token " + tokenId + " layer " + layer + " -> "
                + Arrays.toString(experts) + " " + Arrays.toString(weights) + "]";
    }
}
