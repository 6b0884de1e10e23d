package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.constrain.TokenConstraint;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SequenceSampler;
import org.mixtralspark.engine.sampling.StopConditions;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.tokenizer.StreamingDecoder;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What one request generates while it runs: its sampler, stop conditions and detokeniser, the text and
 * log-probabilities so far, its timings, and the future its caller waits on. Written only by the
 * {@link OutputProcessor} (and the step loop's timings), on the engine's step thread.
 */
final class Generation {

    final CompletableFuture<GenerationResult> future;
    SequenceSampler sampler;
    StopConditions stops;
    StreamingDecoder decoder;
    /** Its position in its response format's grammar; null for free text. */
    TokenConstraint constraint;
    final StringBuilder text = new StringBuilder();
    final List<TokenLogprob> logprobs = new ArrayList<>();
    /** The prompt's log-probabilities while they are computed; null when the request wants none. */
    PositionScores promptScores;
    /** Whether the last generated id (EOS or a stop id) stays out of the result's tokens. */
    boolean dropLastToken;
    long prefillNanos;
    long decodeNanos;

    Generation(CompletableFuture<GenerationResult> future) {
        this.future = future;
    }

    /** The result of {@code s} so far, ended for {@code reason}. */
    GenerationResult result(Sequence s, FinishReason reason) {
        int generatedEnd = dropLastToken ? s.length() - 1 : s.length();
        int[] generated = s.tokens(s.promptLength(), generatedEnd);
        return new GenerationResult(s.request.id(), s.request.promptIds(), generated, text.toString(), reason,
                logprobs, null, prefillNanos, decodeNanos, s.cachedPromptTokens(), promptLogprobs(), null);
    }

    /** The prompt's log-probabilities, when they were asked for (and computed); otherwise empty. */
    List<TokenLogprob> promptLogprobs() {
        return promptScores != null && promptScores.complete() ? promptScores.entries() : List.of();
    }
}
