package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.TokenLogprob;

import java.util.List;

/**
 * What became of one request.
 *
 * @param id             the request's id
 * @param promptIds      the prompt's token ids as evaluated
 * @param tokenIds       generated token ids (a final stop token id or EOS excluded; tokens of a stop string are kept
 *                       here, while {@code text} ends before the stop string)
 * @param text           the generated text, without the stop string that ended it
 * @param finishReason   why it ended
 * @param logprobs       per generated token, when requested; otherwise empty
 * @param error          why the request failed, when {@code finishReason} is ERROR; otherwise null
 * @param prefillNanos   time spent on the prompt (this request's share of the batch's steps)
 * @param decodeNanos    time spent generating
 * @param cachedPromptTokens prompt tokens whose keys and values came from the prefix cache (computed earlier for
 *                       another request with the same start) instead of being computed for this one
 * @param promptLogprobs per prompt token after the first, its log-probability given the tokens before it (entry
 *                       {@code i} is prompt token {@code i + 1}), with the top alternatives asked for; empty unless the
 *                       request asked for them ({@link GenerationRequest#promptLogprobs})
 * @param labelScores    the label scores of a scoring request ({@link GenerationRequest#labels}); null otherwise. Its
 *                       text is then the best label, and no token was generated
 */
public record GenerationResult(
        String id,
        int[] promptIds,
        int[] tokenIds,
        String text,
        FinishReason finishReason,
        List<TokenLogprob> logprobs,
        String error,
        long prefillNanos,
        long decodeNanos,
        int cachedPromptTokens,
        List<TokenLogprob> promptLogprobs,
        LabelScores labelScores) {

    public GenerationResult(String id, int[] promptIds, int[] tokenIds, String text, FinishReason finishReason,
                            List<TokenLogprob> logprobs, String error, long prefillNanos, long decodeNanos,
                            int cachedPromptTokens) {
        this(id, promptIds, tokenIds, text, finishReason, logprobs, error, prefillNanos, decodeNanos,
                cachedPromptTokens, List.of(), null);
    }

    public GenerationResult(String id, int[] promptIds, int[] tokenIds, String text, FinishReason finishReason,
                            List<TokenLogprob> logprobs, String error, long prefillNanos, long decodeNanos) {
        this(id, promptIds, tokenIds, text, finishReason, logprobs, error, prefillNanos, decodeNanos, 0);
    }

    public GenerationResult {
        promptIds = promptIds == null ? new int[0] : promptIds.clone();
        tokenIds = tokenIds == null ? new int[0] : tokenIds.clone();
        logprobs = logprobs == null ? List.of() : List.copyOf(logprobs);
        promptLogprobs = promptLogprobs == null ? List.of() : List.copyOf(promptLogprobs);
    }

    /** A result for a request that could not be run. */
    public static GenerationResult failed(String id, int[] promptIds, String error) {
        return new GenerationResult(id, promptIds, new int[0], "", FinishReason.ERROR, List.of(), error, 0, 0);
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public int[] tokenIds() {
        return tokenIds.clone();
    }

    public boolean ok() {
        return finishReason != FinishReason.ERROR;
    }
}
