package org.mixtralspark.engine.sampling;

import java.util.List;

/**
 * The log-probability of one generated token under the model's distribution at that step (after temperature and
 * penalties, before truncation by top-k/top-p/min-p), and the {@code top} most likely alternatives.
 */
public record TokenLogprob(int tokenId, float logprob, List<Alternative> top) {

    public TokenLogprob {
        top = List.copyOf(top);
    }

    public record Alternative(int tokenId, float logprob) {
    }
}
