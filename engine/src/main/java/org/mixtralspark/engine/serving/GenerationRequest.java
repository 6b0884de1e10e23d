package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.Objects;

/**
 * One prompt to complete. The prompt is given as token ids (BOS included when wanted): the caller tokenizes, so
 * that the engine never guesses about BOS or chat templates.
 *
 * @param id             the caller's id, echoed in the result
 * @param promptIds      the prompt's token ids, at least one
 * @param params         sampling and stopping
 * @param responseFormat the shape the output must have (structured output), or null for free text; parse it with
 *                       {@link ResponseFormat#parse}. It cannot be combined with stop strings (which could cut the
 *                       text inside the structure) or {@code ignore_eos} (which would never let it end).
 * @param promptLogprobs the log-probability of every prompt token after the first, given the tokens before it, in the
 *                       result ({@link GenerationResult#promptLogprobs}): -1 (the default) none; 0 each token's own;
 *                       k in [1, {@value SamplingParams#MAX_LOGPROBS}] also the k most likely tokens at each position
 *                       (vLLM's {@code prompt_logprobs=k}). They come from the logits of every prompt position, so such a
 *                       request does not take its prompt's head from the prefix cache (cached positions have no
 *                       logits): it computes the whole prompt. A request option rather than a sampling parameter
 *                       because it changes what the engine computes for the prompt, not how tokens are drawn.
 * @param labels         when not null, score these labels instead of generating (see {@link LabelScoring}); the result
 *                       has {@link GenerationResult#labelScores} and the best label as its text, and nothing is
 *                       sampled (the sampling parameters are ignored). Not combined with a response format.
 */
public record GenerationRequest(String id, int[] promptIds, SamplingParams params, ResponseFormat responseFormat,
                                int promptLogprobs, LabelScoring labels) {

    public GenerationRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(params, "params");
        if (promptIds == null || promptIds.length == 0) {
            throw new IllegalArgumentException("request " + id + ": the prompt has no tokens");
        }
        if (responseFormat != null && !params.stopStrings().isEmpty()) {
            throw new IllegalArgumentException("response_format cannot be combined with stop strings "
                    + params.stopStrings() + ": a stop string could end the output inside the structure");
        }
        if (responseFormat != null && params.ignoreEos()) {
            throw new IllegalArgumentException("response_format cannot be combined with ignore_eos: the output ends"
                    + " with EOS when it is complete");
        }
        if (promptLogprobs < -1 || promptLogprobs > SamplingParams.MAX_LOGPROBS) {
            throw new IllegalArgumentException("prompt_logprobs = " + promptLogprobs + ": must be in [0, "
                    + SamplingParams.MAX_LOGPROBS + "], or -1 for none");
        }
        if (labels != null && responseFormat != null) {
            throw new IllegalArgumentException("labels cannot be combined with response_format: a scoring request"
                    + " generates nothing");
        }
        if (labels != null && params.n() > 1) {
            throw new IllegalArgumentException("labels cannot be combined with n = " + params.n() + ": a scoring"
                    + " request samples nothing (n must be 1)");
        }
        if (promptLogprobs >= 0 && params.n() > 1) {
            // The n samples share one prefill through the prefix cache and forks, while prompt log-probabilities need
            // the logits of every prompt position (computed whole, without the cache): ask for them with n = 1.
            throw new IllegalArgumentException("prompt_logprobs cannot be combined with n = " + params.n()
                    + ": the prompt's log-probabilities are the same for every sample; ask for them with n = 1");
        }
        promptIds = promptIds.clone();
    }

    /** A request with a response format (or none), no prompt log-probabilities and no labels. */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params, ResponseFormat responseFormat) {
        this(id, promptIds, params, responseFormat, -1, null);
    }

    /** A free-text request (no response format). */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params) {
        this(id, promptIds, params, null);
    }

    /** This request with prompt log-probabilities: -1 none, 0 each token's own, k also the top k. */
    public GenerationRequest withPromptLogprobs(int k) {
        return new GenerationRequest(id, promptIds, params, responseFormat, k, labels);
    }

    /** This request scoring {@code l} instead of generating (null: generate). */
    public GenerationRequest withLabels(LabelScoring l) {
        return new GenerationRequest(id, promptIds, params, responseFormat, promptLogprobs, l);
    }

    /** Whether it scores labels instead of generating. */
    public boolean scoresLabels() {
        return labels != null;
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    public int promptLength() {
        return promptIds.length;
    }
}
