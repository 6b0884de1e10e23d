package org.mixtralspark.engine.sampling;

import java.util.Arrays;

/**
 * Top-k, then top-p, then min-p: which tokens stay candidates for the draw. The order is vLLM V0's
 * ({@code _apply_top_k_top_p} then {@code _apply_min_p} in {@code vllm/model_executor/layers/sampler.py}); vLLM V1
 * applies min-p first. Min-p is relative to the top probability, and truncation never removes the top token, so
 * min-p keeps the same tokens before or after top-k; it is top-p that sees a different mass depending on the order.
 *
 * <p>Inputs are the temperature-scaled logits {@code z} (vocab,) and the unnormalised softmax {@code w} (vocab,),
 * {@code w[i] = exp(z[i] - max z)}, so the top token has {@code w = 1} exactly and {@code p[i] = w[i] / sum(w)}.
 * Renormalising is left to the draw ({@link Categorical}), which scales its coin by the kept mass.
 *
 * <p>Ties are broken by token id (lower first) wherever a boundary falls between equal values, so that the kept set
 * is a deterministic function of the logits.
 */
final class Truncation {

    private Truncation() {
    }

    /**
     * The candidate token ids after top-k, top-p and min-p, or {@code null} when none of them removes anything (all
     * tokens stay; the caller then draws over the whole vocabulary without building a list).
     *
     * @param z         (vocab,) temperature-scaled logits; the order of tokens
     * @param w         (vocab,) {@code exp(z - max z)}
     * @param totalMass {@code sum(w)}, in double
     * @param topK      keep the k largest; 0 or &gt;= vocab = off
     * @param topP      keep the nucleus; 1 = off
     * @param minP      keep {@code p >= minP * p_max}; 0 = off
     */
    static int[] keep(float[] z, float[] w, double totalMass, int topK, float topP, float minP) {
        if (topK > 0 && topK < z.length) {
            return afterTopK(w, topK(z, topK), topP, minP);
        }
        int[] ids = null; // null = every token, in id order
        if (topP < 1.0f) {
            ids = nucleus(z, w, totalMass, topP);
        }
        if (minP > 0.0f) {
            ids = minP(w, ids, minP);
        }
        return ids;
    }

    /**
     * Top-p and min-p applied to the result of top-k. Only the weights of {@code topKIds} are read, so a caller that
     * did top-k first needs {@code exp} for k tokens only, not for the whole vocabulary.
     *
     * @param w       {@code exp(z - max z)}, needed at {@code topKIds} only
     * @param topKIds the top-k, largest first (it contains the top token)
     */
    static int[] afterTopK(float[] w, int[] topKIds, float topP, float minP) {
        int[] ids = topKIds;
        if (topP < 1.0f) {
            // vLLM V0 takes top-p of the distribution renormalised after top-k
            double mass = 0;
            for (int id : ids) {
                mass += w[id];
            }
            ids = Arrays.copyOf(ids, nucleusSize(w, ids, mass * topP));
        }
        if (minP > 0.0f) {
            ids = minP(w, ids, minP);
        }
        return ids;
    }

    /** The k largest of {@code z} (ties: lower id), largest first; partial selection, no full sort. */
    static int[] topK(float[] z, int k) {
        return Selection.largest(z, k);
    }

    /**
     * The top-p nucleus of the whole distribution: the smallest set of most probable tokens (ties: lower id first)
     * whose probability reaches {@code topP}, largest first; at least the top token.
     *
     * <p>Following llama2.c's {@code sample_topp}: a token with {@code p < (1 - topP) / (n - 1)} can never be in the
     * nucleus, because all such tokens together hold less than {@code 1 - topP}, so the tokens above the cutoff
     * already reach {@code topP}. Those are dropped first; the rest are taken largest first from a heap until the
     * mass is reached, so that neither the vocabulary nor all the candidates are sorted. The top token (w = 1) is
     * above any cutoff this can give, even when {@code topP} is tiny.
     */
    static int[] nucleus(float[] z, float[] w, double totalMass, float topP) {
        int vocab = w.length;
        double cutoff = vocab > 1 ? (1.0 - topP) * totalMass / (vocab - 1) : 0.0;
        cutoff = Math.min(cutoff, 1.0);
        int[] candidates = new int[vocab];
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (w[i] >= cutoff) {
                candidates[n++] = i;
            }
        }
        Selection.Descending order = new Selection.Descending(z, candidates, n);
        double target = totalMass * topP;
        double cumulative = 0;
        int size = 0;
        while (order.hasNext()) {
            int id = order.next();
            candidates[size++] = id; // overwriting the front of the array the heap was built from is safe
            cumulative += w[id];
            if (cumulative >= target) {
                break;
            }
        }
        // if rounding keeps the sum just below the target, every candidate is kept
        return Arrays.copyOf(candidates, size);
    }

    /**
     * The size of the nucleus: the smallest prefix of {@code sortedIds} (most probable first) whose mass reaches
     * {@code target} = topP times the mass it is taken of; at least 1 as long as there is a candidate (the top token
     * always is). If rounding keeps the sum just below the target, every candidate is kept.
     */
    static int nucleusSize(float[] w, int[] sortedIds, double target) {
        double cumulative = 0;
        for (int i = 0; i < sortedIds.length; i++) {
            cumulative += w[sortedIds[i]];
            if (cumulative >= target) {
                return i + 1;
            }
        }
        return sortedIds.length;
    }

    /**
     * Keeps the tokens whose probability is at least {@code minP} times the top probability; as {@code w} is
     * {@code p / p_max}, that is {@code w >= minP}. Keeps the order of {@code ids}; {@code ids == null} means all.
     */
    static int[] minP(float[] w, int[] ids, float minP) {
        int n = 0;
        if (ids == null) {
            int[] out = new int[w.length];
            for (int i = 0; i < w.length; i++) {
                if (w[i] >= minP) {
                    out[n++] = i;
                }
            }
            return Arrays.copyOf(out, n);
        }
        int[] out = new int[ids.length];
        for (int id : ids) {
            if (w[id] >= minP) {
                out[n++] = id;
            }
        }
        return Arrays.copyOf(out, n);
    }
}
