package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.Objects;

/**
 * One prompt to complete. The prompt is given as token ids (BOS included when wanted): the caller tokenizes, so
 * that the engine never guesses about BOS or chat templates.
 *
 * @param id        the caller's id, echoed in the result
 * @param promptIds the prompt's token ids, at least one
 * @param params    sampling and stopping
 */
public record GenerationRequest(String id, int[] promptIds, SamplingParams params) {

    public GenerationRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(params, "params");
        if (promptIds == null || promptIds.length == 0) {
            throw new IllegalArgumentException("request " + id + ": the prompt has no tokens");
        }
        promptIds = promptIds.clone();
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    public int promptLength() {
        return promptIds.length;
    }
}
