package org.mixtralspark.engine.model.mixtral;

/**
 * The MoE router's decision for one token (HF {@code MixtralSparseMoeBlock.forward}): softmax of the router
 * logits in fp32, the top-k experts (the lower index wins a tie), their probabilities renormalised to sum to 1.
 */
public final class Router {

    private Router() {
    }

    /**
     * @param logits   router logits, {@code experts} values from {@code offset}
     * @param k        experts to choose
     * @param expertsOut receives the chosen expert ids, best first, at {@code outOffset}
     * @param weightsOut receives their renormalised weights, at {@code outOffset}
     */
    public static void route(float[] logits, int offset, int experts, int k, int[] expertsOut, float[] weightsOut,
                             int outOffset) {
        float max = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < experts; e++) {
            max = Math.max(max, logits[offset + e]);
        }
        // softmax numerators; the common denominator cancels in the renormalisation over the chosen k
        double chosenSum = 0;
        for (int i = 0; i < k; i++) {
            int best = -1;
            float bestLogit = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                if (isChosen(expertsOut, outOffset, i, e)) {
                    continue;
                }
                float v = logits[offset + e];
                if (best < 0 || v > bestLogit) { // strict: the lower index wins a tie
                    best = e;
                    bestLogit = v;
                }
            }
            expertsOut[outOffset + i] = best;
            double p = Math.exp((double) bestLogit - max);
            weightsOut[outOffset + i] = (float) p;
            chosenSum += p;
        }
        for (int i = 0; i < k; i++) {
            weightsOut[outOffset + i] = (float) (weightsOut[outOffset + i] / chosenSum);
        }
    }

    private static boolean isChosen(int[] chosen, int offset, int count, int e) {
        for (int i = 0; i < count; i++) {
            if (chosen[offset + i] == e) {
                return true;
            }
        }
        return false;
    }
}
