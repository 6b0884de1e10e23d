package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.Seeds;

import java.util.ArrayList;
import java.util.List;

/**
 * The n samples of one request ({@link SamplingParams#n()}): n requests with the same id and prompt, each asking for
 * one sample, sample i seeded with {@link Seeds#sampleSeed}(seed, i). Sample 0 is the request itself with n = 1, so
 * raising n adds samples and never changes the first. A request with a random seed (null) gives samples with random
 * seeds too.
 */
public final class Samples {

    private Samples() {
    }

    /** The single-sample requests that {@code request}'s n samples are, in sample order. */
    public static List<GenerationRequest> of(GenerationRequest request) {
        SamplingParams p = request.params();
        if (p.n() == 1) {
            return List.of(request);   // keeps every option of the request (labels, prompt log-probabilities)
        }
        List<GenerationRequest> out = new ArrayList<>(p.n());
        for (int i = 0; i < p.n(); i++) {
            Long seed = p.seed() == null ? null : Seeds.sampleSeed(p.seed(), i);
            out.add(new GenerationRequest(request.id(), request.promptIds(), p.toBuilder().n(1).seed(seed).build(),
                    request.responseFormat()));
        }
        return out;
    }
}
