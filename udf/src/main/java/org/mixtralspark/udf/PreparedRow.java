package org.mixtralspark.udf;

import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.GenerationRequest;

import java.util.List;

/**
 * One input row after validation and tokenization: either ready for the engine ({@code request} set: its prompt ids
 * and the one {@link SamplingParams} built for the row) or an error row ({@code error} set). {@code shown} are the
 * sampling parameters the row asked for, for the output columns (a value the row got wrong is shown as given; one
 * that could not be read is null). {@code promptTokens} is the prompt's token count where it is known (a request's,
 * or an error row whose prompt was tokenized and found too long); null for an error row whose prompt was never
 * tokenized, so that the output says "unknown" rather than 0.
 */
record PreparedRow(Object id, GenerationRequest request, ParamsUsed shown, String error, Integer promptTokens) {

    PreparedRow(Object id, GenerationRequest request, ParamsUsed shown, String error) {
        this(id, request, shown, error, request == null ? null : request.promptLength());
    }

    static PreparedRow error(Object id, ParamsUsed shown, String error) {
        return new PreparedRow(id, null, shown, error, null);
    }

    /** An error row whose prompt was tokenized: it has {@code promptTokens} tokens. */
    static PreparedRow error(Object id, ParamsUsed shown, String error, int promptTokens) {
        return new PreparedRow(id, null, shown, error, promptTokens);
    }

    boolean ok() {
        return error == null;
    }

    /** The sampling parameters of one row as they appear in the output. */
    record ParamsUsed(Integer maxNewTokens, Double temperature, Double topP, Integer topK, Long seed,
                      List<String> stop) {
    }
}
