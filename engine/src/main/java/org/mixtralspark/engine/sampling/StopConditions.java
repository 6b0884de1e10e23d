package org.mixtralspark.engine.sampling;

import org.mixtralspark.engine.sampling.FinishReason;

/**
 * Decides, after each generated token, whether one request is finished and why; and filters its text through the
 * stop strings. Checks in the order of vLLM V0's {@code StopChecker}
 * ({@code vllm/engine/output_processor/stop_checker.py}), so that a reason to STOP wins over LENGTH when both happen
 * on the same token (the model ending by itself on its last allowed token is reported as such; vLLM V1's
 * {@code check_stop} tests the length first, and only its stop-string check can override that):
 * <ol>
 *   <li>the end-of-sequence token, unless {@code ignoreEos}: {@link FinishReason#STOP}, its text is not emitted;</li>
 *   <li>one of {@code stopTokenIds}: STOP, its text is not emitted;</li>
 *   <li>a stop string completed by this token's text: STOP, the text ends just before the stop string;</li>
 *   <li>{@code maxNewTokens} tokens generated, or prompt + generated tokens reach the context length:
 *       {@link FinishReason#LENGTH}.</li>
 * </ol>
 * One instance per request; not thread-safe.
 */
public final class StopConditions {

    private final int eosTokenId;
    private final boolean ignoreEos;
    private final int[] stopTokenIds;
    private final int maxNewTokens;
    private final int promptLength;
    private final int contextLength;
    private final StopStringMatcher stopStrings;

    private int generated;
    private FinishReason reason;

    /**
     * @param params        the request's parameters (stop strings and ids, ignoreEos, maxNewTokens)
     * @param eosTokenId    the model's end-of-sequence id; negative if it has none
     * @param promptLength  tokens in the prompt (>= 1)
     * @param contextLength the model's context length; a sequence never grows beyond it ({@link ContextLimit})
     */
    public StopConditions(SamplingParams params, int eosTokenId, int promptLength, int contextLength) {
        if (promptLength < 1) {
            throw new IllegalArgumentException("promptLength = " + promptLength + ": must be >= 1");
        }
        String tooLong = ContextLimit.promptError(promptLength, contextLength);
        if (tooLong != null) {
            throw new IllegalArgumentException(tooLong);
        }
        this.eosTokenId = eosTokenId;
        this.ignoreEos = params.ignoreEos();
        this.stopTokenIds = params.stopTokenIds();
        this.maxNewTokens = params.maxNewTokens();
        this.promptLength = promptLength;
        this.contextLength = contextLength;
        this.stopStrings = new StopStringMatcher(params.stopStrings());
    }

    /**
     * Records one generated token and its decoded text, and returns the text that may be emitted now (text that
     * might be the start of a stop string is held back; when the request finishes, anything held that is not a stop
     * string is released). After this call, {@link #finished()} says whether the request is done.
     *
     * @param token the generated token id
     * @param text  the text this token adds to the output (the incremental detokenizer's delta); null = ""
     * @throws IllegalStateException if the request had already finished
     */
    public String accept(int token, String text) {
        if (reason != null) {
            throw new IllegalStateException("the request already finished (" + reason.wireName()
                    + "); no token can follow");
        }
        generated++;
        if ((token == eosTokenId && eosTokenId >= 0 && !ignoreEos) || isStopTokenId(token)) {
            reason = FinishReason.STOP;
            return stopStrings.flush();
        }
        String out = stopStrings.push(text == null ? "" : text);
        if (stopStrings.stopped()) {
            reason = FinishReason.STOP;
            return out;
        }
        if (generated >= maxNewTokens || ContextLimit.reached(promptLength, generated, contextLength)) {
            reason = FinishReason.LENGTH;
            return out + stopStrings.flush();
        }
        return out;
    }

    public boolean finished() {
        return reason != null;
    }

    /** Why the request finished, or null while it runs. */
    public FinishReason finishReason() {
        return reason;
    }

    public int generatedCount() {
        return generated;
    }

    private boolean isStopTokenId(int token) {
        for (int id : stopTokenIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }
}
