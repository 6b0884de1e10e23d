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
 */
public record GenerationRequest(String id, int[] promptIds, SamplingParams params, ResponseFormat responseFormat) {

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
        promptIds = promptIds.clone();
    }

    /** A free-text request (no response format). */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params) {
        this(id, promptIds, params, null);
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    public int promptLength() {
        return promptIds.length;
    }
}
