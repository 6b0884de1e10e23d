package org.mixtralspark.engine.sampling;

import java.util.Arrays;

/**
 * The token history one request's penalties need, and the penalties themselves. Follows vLLM's
 * {@code apply_penalties} ({@code vllm/model_executor/layers/utils.py}) in what it penalises and in which order:
 *
 * <pre>
 *   seen(t)  = t occurs in the prompt or in the generated tokens
 *   count(t) = how many times t was generated (the prompt does not count)
 *
 *   1. repetition (CTRL, Keskar et al. 2019), for every seen t:   x[t] = x[t] &gt; 0 ? x[t] / r : x[t] * r
 *   2. frequency, for every generated t:                           x[t] -= frequency * count(t)
 *   3. presence,  for every generated t:                           x[t] -= presence
 * </pre>
 *
 * A logit of exactly 0 stays 0 under the repetition penalty ({@code > 0} is vLLM's test too). All arithmetic is
 * fp32, as in vLLM. The history is sparse (a list of distinct ids) so that applying costs O(distinct tokens seen),
 * not O(vocabulary); the dense per-token arrays are allocated only when some penalty is on.
 */
final class Penalties {

    private final float repetition;
    private final float presence;
    private final float frequency;
    private final boolean enabled;

    // Only allocated when enabled; indexed by token id.
    private final boolean[] seen;      // (vocab,) prompt or generated
    private final int[] outputCounts;  // (vocab,) times generated
    private int[] seenIds;             // distinct seen ids, in first-seen order
    private int seenCount;
    private int[] generatedIds;        // distinct generated ids, in first-generated order
    private int generatedCount;

    Penalties(SamplingParams params, int[] promptIds, int vocabSize) {
        this.repetition = params.repetitionPenalty();
        this.presence = params.presencePenalty();
        this.frequency = params.frequencyPenalty();
        this.enabled = repetition != 1.0f || presence != 0.0f || frequency != 0.0f;
        if (!enabled) {
            seen = null;
            outputCounts = null;
            return;
        }
        seen = new boolean[vocabSize];
        outputCounts = new int[vocabSize];
        seenIds = new int[Math.max(16, Math.min(promptIds.length, vocabSize))];
        generatedIds = new int[16];
        for (int t : promptIds) {
            markSeen(t);
        }
    }

    boolean enabled() {
        return enabled;
    }

    /** Records one generated token. Token ids are checked by the caller. */
    void accept(int token) {
        if (!enabled) {
            return;
        }
        markSeen(token);
        if (outputCounts[token]++ == 0) {
            if (generatedCount == generatedIds.length) {
                generatedIds = Arrays.copyOf(generatedIds, generatedCount * 2);
            }
            generatedIds[generatedCount++] = token;
        }
    }

    /** Applies the three penalties to {@code logits} in place, in the order of the class comment. */
    void apply(float[] logits) {
        if (!enabled) {
            return;
        }
        if (repetition != 1.0f) {
            for (int i = 0; i < seenCount; i++) {
                int t = seenIds[i];
                float x = logits[t];
                logits[t] = x > 0 ? x / repetition : x * repetition;
            }
        }
        if (frequency != 0.0f || presence != 0.0f) {
            for (int i = 0; i < generatedCount; i++) {
                int t = generatedIds[i];
                // two separate subtractions, as vLLM does, so the result rounds the same way
                logits[t] -= frequency * outputCounts[t];
                logits[t] -= presence;
            }
        }
    }

    private void markSeen(int token) {
        if (!seen[token]) {
            seen[token] = true;
            if (seenCount == seenIds.length) {
                seenIds = Arrays.copyOf(seenIds, seenCount * 2);
            }
            seenIds[seenCount++] = token;
        }
    }
}
