package org.mixtralspark.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities under the model's raw distribution, {@code log_softmax(logits)} with no temperature, penalty or
 * truncation: what prompt log-probabilities and label scores report (vLLM's {@code prompt_logprobs}, lm-eval's
 * log-likelihood). Computed in double with the max subtracted.
 */
public final class RawLogprobs {

    private RawLogprobs() {
    }

    /** {@code log(sum_j exp(logits[j]))}, in double. */
    public static double logNormalizer(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float x : logits) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : logits) {
            sum += Math.exp((double) x - max);
        }
        return max + Math.log(sum);
    }

    /** {@code log_softmax(logits)[token]}, in double. */
    public static double of(float[] logits, int token) {
        check(logits, token);
        return logits[token] - logNormalizer(logits);
    }

    /** The log-probability of {@code token} and the {@code topN} most likely tokens (ties: lower id first). */
    public static TokenLogprob withTop(float[] logits, int token, int topN) {
        check(logits, token);
        double lse = logNormalizer(logits);
        List<TokenLogprob.Alternative> top = new ArrayList<>(topN);
        for (int id : Selection.largest(logits, topN)) {
            top.add(new TokenLogprob.Alternative(id, (float) (logits[id] - lse)));
        }
        return new TokenLogprob(token, (float) (logits[token] - lse), top);
    }

    private static void check(float[] logits, int token) {
        if (token < 0 || token >= logits.length) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + logits.length
                    + ")");
        }
    }
}
